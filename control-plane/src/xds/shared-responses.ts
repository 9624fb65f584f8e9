// Encoded discovery responses shared by every stream that is sent the same content: encoded once, nonce included.

/** A response already encoded to its protobuf bytes (what the ADS method writes). */
export interface PreEncoded {
  readonly encoded: Buffer;
  readonly nonce: string;
}

/** Bytes kept for reuse; responses still queued on streams stay alive through them regardless. */
export const SHARED_RESPONSE_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * The streams of a snapshot group mostly need identical responses (same type, versions and resources). Each
 * distinct response is encoded once, under a nonce of its own from one server-wide sequence, so nonces stay unique
 * within every stream (a stream sent the same response twice sees its nonce twice; the content is the same). Least
 * recently used responses go past the byte budget.
 */
export class SharedResponses {
  readonly #budget: number;
  readonly #entries = new Map<string, PreEncoded>();
  #bytes = 0;
  #sequence = 0;

  constructor(budgetBytes = SHARED_RESPONSE_BUDGET_BYTES) {
    this.#budget = budgetBytes;
  }

  /**
   * The response for `key` (which must determine everything but the nonce), encoding it on first use. `avoid` is a
   * nonce the caller must not get (the stream's last one of the type): a hit carrying it is encoded anew.
   */
  get(key: string, encode: (nonce: string) => Buffer, avoid?: string): PreEncoded {
    const hit = this.#entries.get(key);
    if (hit && hit.nonce === avoid) {
      this.#sequence += 1;
      const nonce = String(this.#sequence);
      return { encoded: encode(nonce), nonce };
    }
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    this.#sequence += 1;
    const nonce = String(this.#sequence);
    const response = { encoded: encode(nonce), nonce };
    // The key counts too: it lists every name and version the response carries.
    const size = response.encoded.length + key.length;
    if (size <= this.#budget) {
      this.#entries.set(key, response);
      this.#bytes += size;
      for (const [k, r] of this.#entries) {
        if (this.#bytes <= this.#budget) break;
        this.#entries.delete(k);
        this.#bytes -= r.encoded.length + k.length;
      }
    }
    return response;
  }

  /** Responses kept, and their bytes with their keys (metrics, tests). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }
}
