// Rate-limits repeated log lines: the first few of a kind are logged, then at most one summary line per interval
// with the count suppressed, so a client repeating a mistake (or many clients) cannot flood the log.
import type { Logger } from 'pino';
import { WARNING_BURST, WARNING_INTERVAL_MS } from './limits.ts';

export type LogLevel = 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;

export interface LogLimiterOptions {
  /** Lines of one kind logged before suppression starts; default WARNING_BURST. */
  burst?: number;
  /** How often a summary line may appear; default WARNING_INTERVAL_MS. */
  intervalMs?: number;
  /** Runs fn after ms, returns the cancel function; default an unref'd setTimeout (tests drive their own). */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/** One kind of line (its message) in the current interval. */
interface Kind {
  level: LogLevel;
  msg: string;
  /** Lines written this interval. */
  logged: number;
  /** Lines swallowed this interval, with the logger and fields of the last one (its bindings say who). */
  suppressed: number;
  last: { logger: Logger; fields: Fields } | undefined;
  /** The previous interval ended with lines suppressed: this one logs none until a quiet interval. */
  flooding: boolean;
  cancel: () => void;
}

function unrefTimeout(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * Kinds are told apart by their message, which must be a constant (never built from request data). A kind's first
 * `burst` lines are logged; later ones are counted, and when the interval ends one line with the same message and
 * `suppressed: N` reports them. While a kind keeps repeating, each interval gives one summary line; after an interval
 * without any, the next line is logged again.
 */
export class LogLimiter {
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #schedule: (fn: () => void, ms: number) => () => void;
  readonly #kinds = new Map<string, Kind>();

  constructor(opts: LogLimiterOptions = {}) {
    this.#burst = opts.burst ?? WARNING_BURST;
    this.#intervalMs = opts.intervalMs ?? WARNING_INTERVAL_MS;
    this.#schedule = opts.schedule ?? unrefTimeout;
  }

  warn(logger: Logger, fields: Fields, msg: string): void {
    this.log('warn', logger, fields, msg);
  }

  log(level: LogLevel, logger: Logger, fields: Fields, msg: string): void {
    let kind = this.#kinds.get(msg);
    if (!kind) {
      kind = { level, msg, logged: 0, suppressed: 0, last: undefined, flooding: false, cancel: () => undefined };
      this.#kinds.set(msg, kind);
      this.#startInterval(kind);
    }
    if (!kind.flooding && kind.logged < this.#burst) {
      kind.logged += 1;
      logger[level](fields, msg);
      return;
    }
    kind.suppressed += 1;
    kind.last = { logger, fields };
  }

  /** Logs the summaries still owed and stops every timer. */
  close(): void {
    for (const kind of this.#kinds.values()) {
      kind.cancel();
      this.#summarize(kind);
    }
    this.#kinds.clear();
  }

  #startInterval(kind: Kind): void {
    kind.cancel = this.#schedule(() => this.#endInterval(kind), this.#intervalMs);
  }

  #endInterval(kind: Kind): void {
    if (this.#kinds.get(kind.msg) !== kind) return;
    if (kind.suppressed === 0) {
      this.#kinds.delete(kind.msg);
      return;
    }
    this.#summarize(kind);
    kind.flooding = true;
    kind.logged = 0;
    this.#startInterval(kind);
  }

  #summarize(kind: Kind): void {
    if (kind.suppressed === 0 || !kind.last) return;
    const { logger, fields } = kind.last;
    logger[kind.level]({ ...fields, suppressed: kind.suppressed, intervalMs: this.#intervalMs }, kind.msg);
    kind.suppressed = 0;
    kind.last = undefined;
  }
}
