// One service's endpoint claims, kept incrementally: which claim wins each address:port, and the sorted list.
import type { Endpoint } from './endpoint.ts';

/** Where a claim comes from, in order of precedence: a Service spec entry, a live proxy, a proxy in its grace period. */
export const ClaimRank = { Static: 0, Live: 1, Lingering: 2 } as const;
export type ClaimRank = (typeof ClaimRank)[keyof typeof ClaimRank];

export interface Claim {
  rank: ClaimRank;
  ep: Endpoint;
  /** Content of the endpoint (what a proxy would see change). */
  content: string;
  /** Arrival order: the earlier of two equal claims wins. */
  seq: number;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function endpointKey(ep: Endpoint): string {
  return `${ep.address}:${ep.port}`;
}

export function contentOf(ep: Endpoint): string {
  const labels = Object.keys(ep.labels)
    .sort()
    .map((k) => [k, ep.labels[k]]);
  return JSON.stringify([ep.address, ep.port, ep.weight, ep.zone, ep.source, labels, ep.tls === true]);
}

/** a wins over b: static before live before lingering; among equals the smaller node id, then the earlier claim. */
function beats(a: Claim, b: Claim): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  const bySource = a.rank === ClaimRank.Static ? 0 : compare(a.ep.source, b.ep.source);
  return bySource !== 0 ? bySource < 0 : a.seq < b.seq;
}

/**
 * The claims on one service's address:port keys. Adding or removing a claim costs O(claims on that key) and says
 * whether what the service publishes changed; the sorted list is rebuilt only when read after a change.
 */
export class ServiceEndpoints {
  readonly #claims = new Map<string, Claim[]>();
  #sorted: readonly Endpoint[] | undefined = [];

  get empty(): boolean {
    return this.#claims.size === 0;
  }

  /** Adds a claim; true when the winner of its key changed content. */
  add(claim: Claim): boolean {
    const key = endpointKey(claim.ep);
    const claims = this.#claims.get(key);
    if (!claims) {
      this.#claims.set(key, [claim]);
      this.#sorted = undefined;
      return true;
    }
    const before = this.#winner(claims);
    claims.push(claim);
    return this.#settled(before, claims);
  }

  /** Removes a claim (the same object that was added); true when the winner of its key changed content. */
  remove(claim: Claim): boolean {
    const key = endpointKey(claim.ep);
    const claims = this.#claims.get(key);
    const at = claims?.indexOf(claim) ?? -1;
    if (!claims || at < 0) return false;
    const before = this.#winner(claims);
    claims.splice(at, 1);
    if (claims.length === 0) {
      this.#claims.delete(key);
      this.#sorted = undefined;
      return true;
    }
    return this.#settled(before, claims);
  }

  /** Winning endpoints sorted by address:port. */
  list(): readonly Endpoint[] {
    if (!this.#sorted) {
      this.#sorted = [...this.#claims.entries()]
        .sort(([a], [b]) => compare(a, b))
        .map(([, claims]) => this.#winner(claims).ep);
    }
    return this.#sorted;
  }

  #settled(before: Claim, claims: readonly Claim[]): boolean {
    const after = this.#winner(claims);
    if (after === before) return false;
    this.#sorted = undefined;
    return after.content !== before.content;
  }

  #winner(claims: readonly Claim[]): Claim {
    let best = claims[0]!;
    for (let i = 1; i < claims.length; i++) if (beats(claims[i]!, best)) best = claims[i]!;
    return best;
  }
}
