// Encoded discovery responses shared by every stream that is sent the same content: encoded once, nonce included.
import { ByteLru } from '../cache/byte-lru.ts';

/** A response already encoded to its protobuf bytes (what the ADS method writes). */
export interface PreEncoded {
  readonly encoded: Buffer;
  readonly nonce: string;
}

/** Bytes kept for reuse; responses still queued on streams stay alive through them regardless. */
export const SHARED_RESPONSE_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * A response nobody was sent for this long is dropped: the streams of a round get it within seconds, and after a
 * connect storm the budget's worth of old rounds would otherwise stay for good.
 */
export const SHARED_RESPONSE_IDLE_MS = 30_000;

/**
 * The streams of a snapshot group mostly need identical responses (same type, versions and resources). Each
 * distinct response is encoded once, under a nonce of its own from one server-wide sequence, so nonces stay unique
 * within every stream (a stream sent the same response twice sees its nonce twice; the content is the same). Least
 * recently used responses go past the byte budget.
 */
export class SharedResponses {
  /** Each entry counts its bytes and its key: the key lists every name and version the response carries. */
  readonly #entries: ByteLru<PreEncoded>;
  #sequence = 0;

  constructor(budgetBytes = SHARED_RESPONSE_BUDGET_BYTES) {
    this.#entries = new ByteLru(budgetBytes, (key, r) => r.encoded.length + key.length);
  }

  /**
   * The response for `key` (which must determine everything but the nonce), encoding it on first use. `avoid` is a
   * nonce the caller must not get (the stream's last one of the type): a hit carrying it is encoded anew.
   */
  get(key: string, encode: (nonce: string) => Buffer, avoid?: string): PreEncoded {
    const hit = this.#entries.get(key);
    if (hit && hit.nonce !== avoid) return hit;
    this.#sequence += 1;
    const nonce = String(this.#sequence);
    const response = { encoded: encode(nonce), nonce };
    // A fresh copy for `avoid` leaves the shared one in place for other streams.
    if (!hit) this.#entries.set(key, response);
    return response;
  }

  /** Drops the responses no stream was sent for idleMs; returns how many went. */
  expire(idleMs = SHARED_RESPONSE_IDLE_MS): number {
    return this.#entries.expire(idleMs);
  }

  /** Responses kept, and their bytes with their keys (metrics, tests). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.entries, bytes: this.#entries.bytes };
  }
}
