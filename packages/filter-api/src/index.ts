// Filters written in TypeScript: the types authors write against, and the sandbox that compiles and runs them.
export { MAX_STREAMS } from './bootstrap.ts';
export {
  DEFAULT_TIMEOUT_MS,
  FilterSandbox,
  type HookOutcome,
  type HookResult,
  type RequestInput,
  type ResponseInput,
  toScript,
} from './sandbox.ts';
export type { FilterContext, FilterReply, FilterRequest, FilterResponse, TrellisFilter } from './types.ts';
