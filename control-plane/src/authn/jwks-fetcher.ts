// The JWKS documents of RequestAuthentication jwksUri, fetched by the control plane (as istiod does) and sent to the
// sidecars inline: HTTPS only, bounded in time and size, checked to be a key set, refreshed on an interval; a failed
// fetch keeps the last good keys and is retried with backoff. Every change of what is held is reported.
import type { Logger } from 'pino';

/** Istio's default refresh of fetched JWKS. */
export const DEFAULT_JWKS_REFRESH_MS = 20 * 60_000;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_BYTES = 1 << 20;
const RETRY_MIN_MS = 1_000;
/** The refresh interval is kept within [1 s, 7 days]: never a tight loop at an issuer, never past setTimeout's range. */
const REFRESH_MIN_MS = 1_000;
const REFRESH_MAX_MS = 7 * 24 * 3600_000;
const RETRY_MAX_MS = 60_000;

export interface JwksFetcherOptions {
  refreshMs?: number;
  logger: Logger;
  /** Told when a URI's keys changed (first fetch, rotation). */
  onChange: () => void;
}

interface Entry {
  jwks: string | undefined;
  timer: NodeJS.Timeout | undefined;
  retryMs: number;
  controller: AbortController | undefined;
}

/** Reads a response body up to `max` bytes; throws past it. */
async function boundedText(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A key set's canonical text (compared across fetches: a reordered but equal document is no change). */
function checkedJwks(text: string): string {
  const doc = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(doc.keys) || !doc.keys.every((k) => typeof k === 'object' && k !== null))
    throw new Error('not a JWKS: expected { "keys": [ … ] }');
  return JSON.stringify({ keys: doc.keys });
}

export class JwksFetcher {
  readonly #entries = new Map<string, Entry>();
  readonly #refreshMs: number;
  readonly #logger: Logger;
  readonly #onChange: () => void;
  #closed = false;

  constructor(opts: JwksFetcherOptions) {
    this.#refreshMs = Math.min(Math.max(opts.refreshMs ?? DEFAULT_JWKS_REFRESH_MS, REFRESH_MIN_MS), REFRESH_MAX_MS);
    this.#logger = opts.logger;
    this.#onChange = opts.onChange;
  }

  /** Follows the URIs the resources name now: new ones are fetched, gone ones forgotten. */
  sync(uris: ReadonlySet<string>): void {
    if (this.#closed) return;
    for (const [uri, entry] of this.#entries) {
      if (uris.has(uri)) continue;
      clearTimeout(entry.timer);
      entry.controller?.abort();
      this.#entries.delete(uri);
    }
    for (const uri of uris) {
      if (this.#entries.has(uri)) continue;
      const entry: Entry = { jwks: undefined, timer: undefined, retryMs: RETRY_MIN_MS, controller: undefined };
      this.#entries.set(uri, entry);
      void this.#fetch(uri, entry);
    }
  }

  /** What is held per URI (fetched at least once). */
  snapshot(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const [uri, e] of this.#entries) if (e.jwks !== undefined) out.set(uri, e.jwks);
    return out;
  }

  async #fetch(uri: string, entry: Entry): Promise<void> {
    const controller = new AbortController();
    entry.controller = controller;
    const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    let next: number;
    try {
      const res = await fetch(uri, { signal: controller.signal, redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const jwks = checkedJwks(await boundedText(res, MAX_BYTES));
      if (this.#entries.get(uri) !== entry) return;
      entry.retryMs = RETRY_MIN_MS;
      next = this.#refreshMs;
      if (jwks !== entry.jwks) {
        const first = entry.jwks === undefined;
        entry.jwks = jwks;
        this.#logger.info({ uri }, first ? 'JWKS fetched' : 'JWKS changed');
        this.#onChange();
      }
    } catch (err) {
      if (this.#entries.get(uri) !== entry) return;
      next = entry.retryMs;
      entry.retryMs = Math.min(entry.retryMs * 2, RETRY_MAX_MS);
      this.#logger.warn(
        { uri, err: (err as Error).message, retryInMs: next, keeping: entry.jwks !== undefined },
        'JWKS fetch failed',
      );
    } finally {
      clearTimeout(timeout);
      entry.controller = undefined;
    }
    if (this.#closed || this.#entries.get(uri) !== entry) return;
    entry.timer = setTimeout(() => void this.#fetch(uri, entry), next);
    entry.timer.unref();
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) {
      clearTimeout(e.timer);
      e.controller?.abort();
    }
    this.#entries.clear();
  }
}
