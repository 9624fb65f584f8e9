// A filter written in TypeScript, compiled and run in a node:vm context of its own: types stripped (node:module),
// `export default` bound, top-level code and every hook call under a time budget, no eval, no modules, no timers, and
// only JSON strings crossing between the proxy and the filter.
import { stripTypeScriptTypes } from 'node:module';
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
}

/** What the proxy tells a response hook. */
export interface ResponseInput {
  id: number;
  status: number;
  headers: string[];
}

/** What a hook did. */
export interface HookResult {
  /** Headers set ([name, value]) or removed ([name, null]), in order. */
  set: [string, string | null][];
  /** Counters to increment. */
  counts: string[];
  /** The request hook answered: this instead of the upstream's response. */
  reply?: { status: number; body: string; headers: string[] };
}

export type HookOutcome = { ok: HookResult } | { failed: 'timeout' | 'error'; message: string };

/** The default time budget of one hook call (and of the module's top-level code). */
export const DEFAULT_TIMEOUT_MS = 50;

const CALL_REQUEST = new vm.Script('__call("request")');
const CALL_RESPONSE = new vm.Script('__call("response")');
const END = new vm.Script('__end()');

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
  // One line of wrapper, no newline: error positions stay the author's.
  return `'use strict'; globalThis.__module = {}; ${body}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err))
    return String((err as { message: unknown }).message);
  return String(err);
}

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

export class FilterSandbox {
  readonly name: string;
  readonly timeoutMs: number;
  readonly hooks: { readonly request: boolean; readonly response: boolean };
  readonly #context: vm.Context;

  private constructor(name: string, timeoutMs: number, context: vm.Context, hooks: FilterSandbox['hooks']) {
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
      throw new Error(`filter ${name}: ${errorText(err)}${where === '' ? '' : ` (line ${where})`}`);
    }
    // No eval or new Function inside, and promise jobs run within a call's budget, not after it.
    const context = vm.createContext(
      {},
      { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate', name: `filter:${name}` },
    );
    try {
      new vm.Script(BOOTSTRAP, { filename: 'filter-bootstrap' }).runInContext(context);
      script.runInContext(context, { timeout: timeoutMs });
      context['__config'] = JSON.stringify(config ?? null);
      const hooks = JSON.parse(
        new vm.Script('__setup(globalThis.__config)').runInContext(context, { timeout: timeoutMs }) as string,
      ) as FilterSandbox['hooks'];
      return new FilterSandbox(name, timeoutMs, context, hooks);
    } catch (err) {
      if (isTimeout(err)) throw new Error(`filter ${name}: its top-level code ran past ${timeoutMs}ms`);
      throw new Error(`filter ${name}: ${errorText(err)}`);
    }
  }

  request(input: RequestInput): HookOutcome {
    return this.#call(CALL_REQUEST, input);
  }

  response(input: ResponseInput): HookOutcome {
    return this.#call(CALL_RESPONSE, input);
  }

  /** The stream ended: its state goes. */
  end(id: number): void {
    const context = this.#context;
    context['__in'] = JSON.stringify({ id });
    try {
      END.runInContext(context, { timeout: this.timeoutMs });
    } catch {
      // Nothing of the stream is left to keep.
    }
  }

  #call(script: vm.Script, input: RequestInput | ResponseInput): HookOutcome {
    const context = this.#context;
    context['__in'] = JSON.stringify(input);
    context['__out'] = undefined;
    try {
      script.runInContext(context, { timeout: this.timeoutMs });
      const out = context['__out'];
      if (typeof out !== 'string') return { failed: 'error', message: 'the hook produced no result' };
      return { ok: JSON.parse(out) as HookResult };
    } catch (err) {
      if (isTimeout(err)) return { failed: 'timeout', message: `ran past ${this.timeoutMs}ms` };
      return { failed: 'error', message: errorText(err) };
    }
  }
}
