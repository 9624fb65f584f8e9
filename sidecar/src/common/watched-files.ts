// Files a proxy reads from disk and follows (certificates, key sets): read again when any one's modification time or
// size changes, checked at most once a second when the value is asked for; a failed read or parse keeps the last good
// value (and is reported).
import { readFileSync, statSync } from 'node:fs';

const RECHECK_MS = 1_000;

export class WatchedFiles<T> {
  readonly #paths: readonly string[];
  readonly #parse: (contents: Buffer[]) => T;
  readonly #onError: (err: Error) => void;
  #value: T | undefined;
  #stamp = '';
  #checked = 0;

  constructor(paths: readonly string[], parse: (contents: Buffer[]) => T, onError: (err: Error) => void) {
    this.#paths = paths;
    this.#parse = parse;
    this.#onError = onError;
  }

  /** The value of the files as last read; undefined while none could be read. */
  current(): T | undefined {
    const now = Date.now();
    if (this.#checked !== 0 && now - this.#checked < RECHECK_MS) return this.#value;
    this.#checked = now;
    try {
      const stamp = this.#paths
        .map((p) => {
          const s = statSync(p);
          return `${s.mtimeMs}:${s.size}`;
        })
        .join('|');
      if (stamp !== this.#stamp) {
        this.#value = this.#parse(this.#paths.map((p) => readFileSync(p)));
        this.#stamp = stamp;
      }
    } catch (err) {
      this.#onError(err as Error);
    }
    return this.#value;
  }
}
