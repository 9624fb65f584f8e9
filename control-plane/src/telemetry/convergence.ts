// Convergence tracking: which pushes a change caused, and when every proxy that got one has ACKed it.
import type { SpanContext } from '@opentelemetry/api';

/** The pushes of one publish round, seen from the xDS observer. */
export interface RoundInfo {
  /** When the earliest change of the round happened (ms, the tracker's clock). */
  readonly startedAt: number;
  /** The API calls (spans) whose changes the round publishes. */
  readonly links: readonly SpanContext[];
}

interface Round extends RoundInfo {
  /** Start times of the applied (store) changes: each gets a convergence sample. */
  readonly applyStarts: number[];
  /** Start times of the registry changes (endpoints joining or leaving): each gets an endpoint sample. */
  readonly registryStarts: number[];
  /** stream|typeUrl → the push (the stream's count of pushes of that type) whose answer, or a later one's, it waits for. */
  readonly outstanding: Map<string, number>;
  ended: boolean;
  failed: boolean;
}

interface PendingChange {
  at: number;
  fromApply: boolean;
  link: SpanContext | undefined;
}

export interface ConvergenceOptions {
  now(): number;
  /** An applied change converged after `seconds`. */
  onConverged(seconds: number): void;
  /** An endpoint change (a proxy came or went) converged after `seconds`. */
  onEndpointsConverged?(seconds: number): void;
  /** Rounds still waiting after this long are given up (a proxy that never answers); default 60 s. */
  maxAgeMs?: number;
}

function key(streamId: string, typeUrl: string): string {
  return `${streamId}|${typeUrl}`;
}

/**
 * The control plane reports changes (`changed`), then brackets each publish with beginRound/endRound; the xDS
 * observer reports every push (`pushed`; those inside the bracket are waited for), pushes a round had to defer (flow
 * control: `deferred`, waited for too), every answer to a stream's latest push of a type (`ack`/`nack`), a type
 * caught up with nothing more to send (`caughtUp`) and stream ends. Pushes are counted per stream and type, not by
 * nonce (nonces are shared between streams and need not grow within one). A round whose
 * pushes were all ACKed yields one convergence sample per applied change in it (and one endpoint sample per registry
 * change); a NACK fails the round (no sample);
 * a stream that ends is no longer waited for. Changes that reach no proxy yield nothing.
 */
export class ConvergenceTracker {
  readonly #opts: ConvergenceOptions;
  #pending: PendingChange[] = [];
  #current: Round | undefined;
  readonly #open = new Set<Round>();
  /** stream|typeUrl → pushes written so far. */
  readonly #pushes = new Map<string, number>();
  /** stream → the type URLs it was pushed or deferred (so a stream's end touches its own keys only). */
  readonly #typesOf = new Map<string, Set<string>>();

  constructor(opts: ConvergenceOptions) {
    this.#opts = opts;
  }

  /** A store change (fromApply, with the API call's span when known) or a registry change happened. */
  changed(fromApply: boolean, link?: SpanContext): void {
    this.#pending.push({ at: this.#opts.now(), fromApply, link });
  }

  /** Starts publishing the pending changes (nothing pending: pushes in the bracket belong to no round). */
  beginRound(): void {
    this.#expire();
    const changes = this.#pending;
    this.#pending = [];
    if (changes.length === 0) {
      this.#current = undefined;
      return;
    }
    const links = changes.map((c) => c.link).filter((l) => l !== undefined);
    this.#current = {
      startedAt: changes.reduce((min, c) => Math.min(min, c.at), Number.POSITIVE_INFINITY),
      links,
      applyStarts: changes.filter((c) => c.fromApply).map((c) => c.at),
      registryStarts: changes.filter((c) => !c.fromApply).map((c) => c.at),
      outstanding: new Map(),
      ended: false,
      failed: false,
    };
  }

  endRound(): void {
    const round = this.#current;
    this.#current = undefined;
    if (!round) return;
    round.ended = true;
    if (round.outstanding.size > 0) this.#open.add(round);
  }

  /** The round being published, if any. */
  get current(): RoundInfo | undefined {
    return this.#current;
  }

  /** Rounds still waiting for ACKs (for tests and diagnostics). */
  get waiting(): number {
    return this.#open.size;
  }

  /** A push was written (inside the current round: it must be answered). */
  pushed(streamId: string, typeUrl: string): void {
    const k = this.#keyOf(streamId, typeUrl);
    const n = (this.#pushes.get(k) ?? 0) + 1;
    this.#pushes.set(k, n);
    this.#current?.outstanding.set(k, n);
  }

  /** Flow control held back a push of the current round: the round waits for the push that follows. */
  deferred(streamId: string, typeUrl: string): void {
    const k = this.#keyOf(streamId, typeUrl);
    this.#current?.outstanding.set(k, (this.#pushes.get(k) ?? 0) + 1);
  }

  /** The client answered its latest push of the type (an ACK). */
  ack(streamId: string, typeUrl: string): void {
    const k = key(streamId, typeUrl);
    this.#answer(k, this.#pushes.get(k) ?? 0, false);
  }

  nack(streamId: string, typeUrl: string): void {
    const k = key(streamId, typeUrl);
    this.#answer(k, this.#pushes.get(k) ?? 0, true);
  }

  /** The client holds the newest state of the type (answered, nothing more to send): every wait on it is over. */
  caughtUp(streamId: string, typeUrl: string): void {
    this.#answer(key(streamId, typeUrl), Number.POSITIVE_INFINITY, false);
  }

  /** The stream ended: nothing more is expected from it. */
  closed(streamId: string): void {
    const types = this.#typesOf.get(streamId);
    if (!types) return;
    this.#typesOf.delete(streamId);
    const keys = [...types].map((t) => key(streamId, t));
    for (const k of keys) this.#pushes.delete(k);
    for (const round of [...this.#open]) {
      for (const k of keys) round.outstanding.delete(k);
      this.#settle(round);
    }
  }

  /** The key of a stream's type, remembered under the stream for closed(). */
  #keyOf(streamId: string, typeUrl: string): string {
    let types = this.#typesOf.get(streamId);
    if (!types) {
      types = new Set();
      this.#typesOf.set(streamId, types);
    }
    types.add(typeUrl);
    return key(streamId, typeUrl);
  }

  #answer(k: string, answered: number, rejected: boolean): void {
    for (const round of [...this.#open]) {
      const wanted = round.outstanding.get(k);
      if (wanted === undefined || answered < wanted) continue;
      round.outstanding.delete(k);
      if (rejected) round.failed = true;
      this.#settle(round);
    }
  }

  #settle(round: Round): void {
    if (round.outstanding.size > 0) return;
    this.#open.delete(round);
    if (round.failed) return;
    const now = this.#opts.now();
    for (const at of round.applyStarts) this.#opts.onConverged((now - at) / 1000);
    for (const at of round.registryStarts) this.#opts.onEndpointsConverged?.((now - at) / 1000);
  }

  #expire(): void {
    const limit = this.#opts.now() - (this.#opts.maxAgeMs ?? 60_000);
    for (const round of this.#open) if (round.startedAt < limit) this.#open.delete(round);
  }
}
