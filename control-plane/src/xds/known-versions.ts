// What a Delta client holds of one type (name → version); while it holds exactly a snapshot's resources of that
// type, one name → version map per snapshot type stands for it, so 10,000 streams of a group keep no copy each.
import { versionOfPairs } from '../cache/hash.ts';
import type { XdsResource } from '../cache/snapshot.ts';

interface Shared {
  /** Versions only: sharing the snapshot's own map would keep old snapshots (and their resources) alive. */
  readonly map: ReadonlyMap<string, string>;
  /** The type version of the snapshot the map belongs to (versionOfResources of its resources). */
  readonly version: string;
}

/** One versions map per snapshot type map, made on first use and shared by every stream holding it. */
const versionsOf = new WeakMap<ReadonlyMap<string, XdsResource>, ReadonlyMap<string, string>>();

function sharedVersions(available: ReadonlyMap<string, XdsResource>): ReadonlyMap<string, string> {
  let versions = versionsOf.get(available);
  if (!versions) {
    versions = new Map([...available].map(([name, r]) => [name, r.version]));
    versionsOf.set(available, versions);
  }
  return versions;
}

export class KnownVersions {
  /** Exactly one of the two is set. */
  #shared: Shared | undefined;
  #own: Map<string, string> | undefined = new Map();

  get size(): number {
    return this.#own ? this.#own.size : (this.#shared as Shared).map.size;
  }

  get(name: string): string | undefined {
    return (this.#own ?? (this.#shared as Shared).map).get(name);
  }

  has(name: string): boolean {
    return this.#own ? this.#own.has(name) : (this.#shared as Shared).map.has(name);
  }

  names(): string[] {
    return [...(this.#own ?? (this.#shared as Shared).map).keys()];
  }

  set(name: string, version: string): void {
    this.#mine().set(name, version);
  }

  delete(name: string): void {
    if (this.has(name)) this.#mine().delete(name);
  }

  /** Whether the map is shared with other streams, not a copy (tests). */
  get shared(): boolean {
    return this.#shared !== undefined;
  }

  /**
   * Records what a response sent: `updates` now held, `removals` gone. When the client then holds exactly
   * `available` (the snapshot's resources of the type, whose type version is `typeVersion`), that map is shared
   * instead of copied; otherwise the stream keeps its own.
   */
  apply(
    updates: readonly XdsResource[],
    removals: readonly string[],
    available: ReadonlyMap<string, XdsResource>,
    typeVersion: string,
  ): void {
    if (this.#holdsExactly(updates, removals, available)) {
      this.#shared = { map: sharedVersions(available), version: typeVersion };
      this.#own = undefined;
      return;
    }
    for (const r of updates) this.set(r.name, r.version);
    for (const name of removals) this.delete(name);
  }

  /** The version over every (name, version) held (what an ACK of the last response accepts). */
  version(): string {
    return this.#shared ? this.#shared.version : versionOfPairs(this.#own as Map<string, string>);
  }

  /** Would applying updates and removals leave exactly `available`? (No allocation beyond a name set.) */
  #holdsExactly(
    updates: readonly XdsResource[],
    removals: readonly string[],
    available: ReadonlyMap<string, XdsResource>,
  ): boolean {
    const updated = new Map(updates.map((r) => [r.name, r.version]));
    const removed = new Set(removals);
    for (const [name, r] of available) {
      if (removed.has(name)) return false;
      const version = updated.get(name) ?? this.get(name);
      if (version !== r.version) return false;
    }
    for (const name of this.#own ? this.#own.keys() : (this.#shared as Shared).map.keys()) {
      if (!available.has(name) && !removed.has(name)) return false;
    }
    for (const name of updated.keys()) if (!available.has(name)) return false;
    return true;
  }

  #mine(): Map<string, string> {
    if (!this.#own) {
      const shared = this.#shared as Shared;
      this.#own = new Map(shared.map);
      this.#shared = undefined;
    }
    return this.#own;
  }
}
