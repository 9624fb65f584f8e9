// A filter written in TypeScript, compiled and run in a node:vm context of its own: types stripped (node:module),
// `export default` bound, top-level code and every hook call under a time budget, no eval, no modules, no timers, and
// only JSON strings crossing between the proxy and the filter.
import { stripTypeScriptTypes } from 'node:module';
import { types } from 'node:util';
import vm from 'node:vm';
import { BOOTSTRAP } from './bootstrap.ts';

/** What the proxy tells a request hook. */
export interface RequestInput {
  id: number;
  method: string;
  path: string;
  query: string;
  authority: string;
  clientAddress: string;
  /** Flat `[name, value, …]`, lower-case names. */
  headers: string[];
  /** The body as text, when it was read whole before routing; null otherwise. */
  body: string | null;
  /** The route's override of the filter's config; null when none. */
  routeConfig?: unknown;
}

/** What the proxy tells a response hook. */
export interface ResponseInput {
  id: number;
  status: number;
  headers: string[];
  routeConfig?: unknown;
}

/** What the proxy tells a response-trailers hook (`headers`: the trailers). */
export interface TrailersInput {
  id: number;
  headers: string[];
  routeConfig?: unknown;
}

/** How a stream ended, as the log hook sees it (FilterLogEntry). */
export interface LogEntryInput {
  status: number;
  grpcStatus: number | null;
  flags: string;
  route: string;
  cluster: string;
  attempts: number;
  upstreamAddress: string | null;
  bytesReceived: number;
  bytesSent: number;
  reset: boolean;
  durationMs: number;
}

/** What the proxy tells a log hook. */
export interface LogInput {
  id: number;
  headers: string[];
  log: LogEntryInput;
  routeConfig?: unknown;
}

/** What a hook did. */
export interface HookResult {
  /** Headers set ([name, value]) or removed ([name, null]), in order. */
  set: [string, string | null][];
  /** Counters to increment. */
  counts: string[];
  /** Log lines the hook wrote. */
  logs: string[];
  /** The request hook answered: this instead of the upstream's response. */
  reply?: { status: number; body: string; headers: string[] };
}

export type HookOutcome = { ok: HookResult } | { failed: 'timeout' | 'error'; message: string };

/** The default time budget of one hook call (and of the module's top-level code). */
export const DEFAULT_TIMEOUT_MS = 50;

const CALL_REQUEST = new vm.Script('__guard(() => __call("request"))');
const CALL_RESPONSE = new vm.Script('__guard(() => __call("response"))');
const CALL_TRAILERS = new vm.Script('__guard(() => __call("trailers"))');
const CALL_LOG = new vm.Script('__guard(() => __call("log"))');
const END = new vm.Script('__guard(() => __end())');
const SETUP = new vm.Script('__guard(() => __setup(__in))');

/** The source as a script: types stripped, `export default` bound to `__module.default`, other exports plain. */
export function toScript(source: string): string {
  // Types are replaced by spaces: lines and columns stay where the author wrote them.
  const js = stripTypeScriptTypes(source);
  if (/^\s*import\b/m.test(js)) throw new SyntaxError('imports are not available in a filter (it runs on its own)');
  const exports = js.match(/^\s*export\s+default\b/gm)?.length ?? 0;
  if (exports !== 1) throw new SyntaxError('a filter module needs exactly one `export default`');
  const body = js
    .replace(/^(\s*)export\s+default\b/m, '$1__module.default =')
    .replace(/^(\s*)export\s+(?=(?:const|let|var|function|class|async)\b)/gm, '$1');
  // One line of wrapper, no newline: error positions stay the author's. A throw is described inside the sandbox.
  return `'use strict'; try { ${body}
} catch (__error) { __fail(__error); }`;
}

/**
 * Whether a thrown value is vm's timeout error, read without running any code: no Proxy, only an own data property
 * (a getter or a trap of the sandbox's would run outside any budget). A sandbox that forges one only gets its failure
 * counted as a timeout.
 */
function isTimeout(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || types.isProxy(err)) return false;
  const code = Object.getOwnPropertyDescriptor(err, 'code');
  return code !== undefined && 'value' in code && code.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** A call's result: the JSON text the sandbox returned, parsed here (host objects only). */
function resultOf(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** A hook's output checked field by field: anything of the wrong shape is a failure, never passed on. */
function checkResult(ok: unknown): HookResult | undefined {
  if (typeof ok !== 'object' || ok === null) return undefined;
  const { set, counts, logs, reply } = ok as Record<string, unknown>;
  if (!Array.isArray(set) || !Array.isArray(counts) || !counts.every(isString)) return undefined;
  if (!Array.isArray(logs) || !logs.every(isString)) return undefined;
  for (const pair of set) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isString(pair[0]) || !(pair[1] === null || isString(pair[1])))
      return undefined;
  }
  const result: HookResult = { set: set as HookResult['set'], counts: counts as string[], logs: logs as string[] };
  if (reply !== undefined) {
    if (typeof reply !== 'object' || reply === null) return undefined;
    const { status, body, headers } = reply as Record<string, unknown>;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return undefined;
    if (!isString(body) || !Array.isArray(headers) || headers.length % 2 !== 0 || !headers.every(isString))
      return undefined;
    result.reply = { status, body, headers: headers as string[] };
  }
  return result;
}

export class FilterSandbox {
  readonly name: string;
  readonly timeoutMs: number;
  readonly hooks: {
    readonly request: boolean;
    readonly response: boolean;
    readonly trailers: boolean;
    readonly log: boolean;
  };
  readonly #context: Record<string, unknown>;

  private constructor(
    name: string,
    timeoutMs: number,
    context: Record<string, unknown>,
    hooks: FilterSandbox['hooks'],
  ) {
    this.name = name;
    this.timeoutMs = timeoutMs;
    this.#context = context;
    this.hooks = hooks;
  }

  /**
   * Compiles and starts a filter: its module's top-level code runs once, within the budget. Throws an Error whose
   * message says what is wrong (a syntax error with its line, a missing export, a timeout).
   */
  static compile(name: string, source: string, config: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): FilterSandbox {
    let script: vm.Script;
    try {
      script = new vm.Script(toScript(source), { filename: `filter:${name}` });
    } catch (err) {
      // V8 names the line as filter:<name>:<line>; the type stripper's stack starts with :<line>.
      const stack = err instanceof Error ? (err.stack ?? '') : '';
      const where = /filter:[^:\n]+:(\d+)/.exec(stack)?.[1] ?? /^:(\d+)/.exec(stack)?.[1] ?? '';
      // A compile error is the host's own (the script was not run): its message is safe to read.
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`filter ${name}: ${message}${where === '' ? '' : ` (line ${where})`}`);
    }
    // Its own global object (nothing of the host's realm behind it), no eval or new Function inside, and promise jobs
    // run within a call's budget, not after it.
    const context = vm.createContext(vm.constants.DONT_CONTEXTIFY, {
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
      name: `filter:${name}`,
    }) as Record<string, unknown>;
    try {
      new vm.Script(BOOTSTRAP, { filename: 'filter-bootstrap' }).runInContext(context);
      script.runInContext(context, { timeout: timeoutMs });
    } catch (err) {
      if (isTimeout(err)) throw new Error(`filter ${name}: its top-level code ran past ${timeoutMs}ms`);
      throw new Error(`filter ${name}: its top-level code failed`);
    }
    const failure = context['__failure'];
    if (typeof failure === 'string' && failure !== '') throw new Error(`filter ${name}: ${failure}`);
    context['__in'] = JSON.stringify(config ?? null);
    let out: Record<string, unknown> | undefined;
    try {
      out = resultOf(SETUP.runInContext(context, { timeout: timeoutMs }));
    } catch (err) {
      if (isTimeout(err)) throw new Error(`filter ${name}: setting it up ran past ${timeoutMs}ms`);
      throw new Error(`filter ${name}: setting it up failed`);
    }
    if (out === undefined) throw new Error(`filter ${name}: setting it up gave no result`);
    if (typeof out['error'] === 'string') throw new Error(`filter ${name}: ${out['error']}`);
    const hooks = out['hooks'] as Record<string, unknown> | undefined;
    return new FilterSandbox(name, timeoutMs, context, {
      request: hooks?.['request'] === true,
      response: hooks?.['response'] === true,
      trailers: hooks?.['trailers'] === true,
      log: hooks?.['log'] === true,
    });
  }

  request(input: RequestInput): HookOutcome {
    return this.#call(CALL_REQUEST, input);
  }

  response(input: ResponseInput): HookOutcome {
    return this.#call(CALL_RESPONSE, input);
  }

  /** The upstream response's trailers (the hook may set or remove them). */
  trailers(input: TrailersInput): HookOutcome {
    return this.#call(CALL_TRAILERS, input);
  }

  /** The stream is over: the log hook may count and log (header changes and replies are ignored). */
  log(input: LogInput): HookOutcome {
    return this.#call(CALL_LOG, input);
  }

  /** The stream ended: its state goes. */
  end(id: number): void {
    this.#run(END, { id });
  }

  #call(script: vm.Script, input: RequestInput | ResponseInput | TrailersInput | LogInput): HookOutcome {
    const out = this.#run(script, input);
    if ('failed' in out) return out;
    if (typeof out.value['error'] === 'string') return { failed: 'error', message: out.value['error'] };
    const result = checkResult(out.value['ok']);
    return result === undefined ? { failed: 'error', message: 'the hook gave a malformed result' } : { ok: result };
  }

  /** One call: the input in the data slot, the result as the JSON text the call returned. Never throws. */
  #run(
    script: vm.Script,
    input: unknown,
  ): { value: Record<string, unknown> } | { failed: 'timeout' | 'error'; message: string } {
    const context = this.#context;
    try {
      context['__in'] = JSON.stringify(input);
      const value = resultOf(script.runInContext(context, { timeout: this.timeoutMs }));
      return value === undefined ? { failed: 'error', message: 'the hook gave no result' } : { value };
    } catch (err) {
      if (isTimeout(err)) return { failed: 'timeout', message: `ran past ${this.timeoutMs}ms` };
      return { failed: 'error', message: 'the hook failed' };
    }
  }
}
