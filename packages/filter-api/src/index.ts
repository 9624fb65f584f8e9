// Filters written in TypeScript: the types authors write against, and the sandbox that compiles and runs them.
export { MAX_STREAMS } from './bootstrap.ts';
export {
  DEFAULT_TIMEOUT_MS,
  FilterSandbox,
  type HookOutcome,
  type HookResult,
  type LogEntryInput,
  type LogInput,
  type RequestInput,
  type ResponseInput,
  type TrailersInput,
  toScript,
} from './sandbox.ts';
export type {
  FilterContext,
  FilterLogEntry,
  FilterReply,
  FilterRequest,
  FilterResponse,
  FilterTrailers,
  TrellisFilter,
} from './types.ts';
