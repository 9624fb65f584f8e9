// Per-stream, per-type subscription state shared by the SotW and Delta streams: names, wildcard, nonces.
import { TYPE_URLS, type XdsTypeKey } from '@trellis/xds-protos';
import type { XdsResource } from '../cache/snapshot.ts';
import { internNames, MIN_SHARED_NAMES } from './name-sets.ts';

export const WILDCARD = '*';

/** LDS and CDS: SotW responses carry the whole subscribed set, and an empty first request means wildcard. */
export function isFullStateType(type: XdsTypeKey): boolean {
  return type === 'listener' || type === 'cluster';
}

/** Sorted names of each shared (interned) name set. */
const SORTED = new WeakMap<ReadonlySet<string>, readonly string[]>();

export class Subscription {
  readonly type: XdsTypeKey;
  readonly typeUrl: string;
  /** Nonce of the last response sent for this type ('' before the first one). */
  lastNonce = '';
  /** The last response is not ACKed or NACKed yet (flow control: see `paced`). */
  inFlight = false;
  /** Version reported with the last response (what a NACK of lastNonce rejects). */
  lastVersion = '';
  /** Explicit names; shared with other streams (internNames) once a change settles, copied before the next one. */
  #names: ReadonlySet<string> = new Set<string>();
  #namesShared = false;
  #wildcard = false;
  #revision = 0;
  #everNamed = false;

  constructor(type: XdsTypeKey) {
    this.type = type;
    this.typeUrl = TYPE_URLS[type];
  }

  get wildcard(): boolean {
    return this.#wildcard;
  }

  get fullState(): boolean {
    return isFullStateType(this.type);
  }

  /** True while the client wants anything of this type. */
  get active(): boolean {
    return this.#wildcard || this.#names.size > 0;
  }

  /** Explicitly requested names (without '*'). */
  get names(): ReadonlySet<string> {
    return this.#names;
  }

  /**
   * SotW: the request carries the full set. An empty list is wildcard for LDS/CDS on a stream that never sent
   * names for the type (legacy), else unsubscribe; '*' asks for everything. Returns the names newly added.
   */
  replace(names: readonly string[]): string[] {
    const explicit = new Set(names.filter((n) => n !== WILDCARD));
    const added = [...explicit].filter((n) => !this.#names.has(n));
    const wildcard = names.includes(WILDCARD) || (names.length === 0 && this.fullState && !this.#everNamed);
    if (names.length > 0) this.#everNamed = true;
    // An ACK repeats the names it had: nothing to change then.
    if (wildcard === this.#wildcard && added.length === 0 && explicit.size === this.#names.size) return added;
    this.#wildcard = wildcard;
    this.#names = explicit;
    this.#namesShared = false;
    this.#changed();
    return added;
  }

  /**
   * Delta: adds names; the first request of a type with no names is a legacy wildcard for LDS/CDS.
   * Returns the explicit names newly added.
   */
  subscribe(names: readonly string[], first: boolean): string[] {
    let changed = false;
    if (!this.#wildcard && (names.includes(WILDCARD) || (first && names.length === 0 && this.fullState))) {
      this.#wildcard = true;
      changed = true;
    }
    const added: string[] = [];
    for (const n of names) {
      if (n === WILDCARD || this.#names.has(n)) continue;
      this.#mutable().add(n);
      added.push(n);
    }
    if (changed || added.length > 0) this.#changed();
    return added;
  }

  /** Delta: removes names ('*' ends the wildcard). */
  unsubscribe(names: readonly string[]): void {
    let changed = false;
    for (const n of names) {
      if (n === WILDCARD) {
        changed ||= this.#wildcard;
        this.#wildcard = false;
      } else if (this.#names.has(n)) {
        this.#mutable().delete(n);
        changed = true;
      }
    }
    if (changed) this.#changed();
  }

  /** A set of our own to change (a shared one is copied first). */
  #mutable(): Set<string> {
    if (this.#namesShared) {
      this.#names = new Set(this.#names);
      this.#namesShared = false;
    }
    return this.#names as Set<string>;
  }

  /** After a change: a new revision, and the names shared with every stream subscribed to the same ones. */
  #changed(): void {
    this.#revision += 1;
    this.#names = internNames(this.#names);
    this.#namesShared = this.#names.size >= MIN_SHARED_NAMES;
  }

  /** Changes whenever the subscription does (wildcard or names): what proxy status shows needs no recompute. */
  get revision(): number {
    return this.#revision;
  }

  covers(name: string): boolean {
    return this.#wildcard || this.#names.has(name);
  }

  /** The available resources the client asked for: all of them for wildcard, else the intersection. */
  select(available: ReadonlyMap<string, XdsResource>): Map<string, XdsResource> {
    if (this.#wildcard) return new Map(available);
    const out = new Map<string, XdsResource>();
    for (const name of this.#names) {
      const r = available.get(name);
      if (r) out.set(name, r);
    }
    return out;
  }

  /** Names for proxy status: '*' first when wildcard, then the explicit names (shared by streams of equal names). */
  statusNames(): readonly string[] {
    // A shared set never changes, so its sorted names are computed once for every stream holding it.
    if (!this.#namesShared) return this.#withWildcard([...this.#names].sort());
    let names = SORTED.get(this.#names);
    if (!names) {
      names = Object.freeze([...this.#names].sort());
      SORTED.set(this.#names, names);
    }
    return this.#withWildcard(names);
  }

  #withWildcard(names: readonly string[]): readonly string[] {
    return this.#wildcard ? [WILDCARD, ...names] : names;
  }

  /** A reply to an earlier response than the last one sent (only possible once something was sent). */
  isStale(responseNonce: string): boolean {
    return responseNonce !== '' && this.lastNonce !== '' && responseNonce !== this.lastNonce;
  }

  /** An ACK or NACK of the last response sent. */
  answersLatest(responseNonce: string): boolean {
    return responseNonce !== '' && responseNonce === this.lastNonce;
  }

  /** A response went out with this nonce. */
  sent(nonce: string): void {
    this.lastNonce = nonce;
    this.inFlight = true;
  }

  /**
   * Flow control for RDS and EDS: while their last response is not answered, new snapshots wait, and the ACK (or
   * NACK) brings the newest state in one response. A proxy slower than the changes gets fewer, not queued,
   * versions; requests (new names) are answered at once regardless. LDS and CDS always go at once (their order
   * carries make-before-break).
   */
  get paced(): boolean {
    return this.inFlight && !this.fullState;
  }
}
