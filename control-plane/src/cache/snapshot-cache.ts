// Per-group snapshot cache: publishes consistent snapshots and notifies the xDS streams watching each group.
import type { NodeInfo } from '@trellis/node-contract';
import type { Snapshot } from './snapshot.ts';

export interface SnapshotCacheOptions {
  /** Which snapshot group a node reads (e.g. one per node id, or one per service). */
  groupOf(node: NodeInfo): string;
  /** Called when a stream starts watching a group that has no snapshot yet, so the owner can set one synchronously. */
  onFirstWatch?(group: string): void;
  /** Called when the last watcher of a group stops watching (the owner may drop what it keeps for the group). */
  onLastUnwatch?(group: string): void;
  /** Called when onFirstWatch or a watcher callback throws (watching and notifying carry on). */
  onError?(group: string, error: unknown): void;
}

type Watcher = { cb: (snapshot: Snapshot) => void };

export class SnapshotCache {
  readonly #opts: SnapshotCacheOptions;
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #watchers = new Map<string, Set<Watcher>>();

  constructor(opts: SnapshotCacheOptions) {
    this.#opts = opts;
  }

  groupOf(node: NodeInfo): string {
    return this.#opts.groupOf(node);
  }

  /**
   * Publishes a snapshot for a group. Throws with the consistency errors when it is inconsistent (the previous
   * snapshot stays). Watchers are notified only when some type's content changed.
   */
  setSnapshot(group: string, snapshot: Snapshot): void {
    const errors = snapshot.consistent();
    if (errors.length > 0) {
      throw new Error(`inconsistent snapshot ${snapshot.version} for group "${group}": ${errors.join('; ')}`);
    }
    const previous = this.#snapshots.get(group);
    this.#snapshots.set(group, snapshot);
    if (previous?.sameContentAs(snapshot)) return;
    for (const watcher of [...(this.#watchers.get(group) ?? [])]) this.#notify(group, watcher, snapshot);
  }

  getSnapshot(group: string): Snapshot | undefined {
    return this.#snapshots.get(group);
  }

  /** Forgets a group's snapshot (watchers keep what they have); returns whether there was one. */
  clearSnapshot(group: string): boolean {
    return this.#snapshots.delete(group);
  }

  /**
   * Watches a group: asks the owner for a first snapshot when there is none, then calls cb with the current
   * snapshot (if any) and on every change. Returns the function that stops watching.
   */
  watch(group: string, cb: (snapshot: Snapshot) => void): () => void {
    if (!this.#snapshots.has(group)) {
      try {
        this.#opts.onFirstWatch?.(group);
      } catch (err) {
        this.#opts.onError?.(group, err);
      }
    }
    const watcher: Watcher = { cb };
    let set = this.#watchers.get(group);
    if (!set) {
      set = new Set();
      this.#watchers.set(group, set);
    }
    set.add(watcher);
    const current = this.#snapshots.get(group);
    if (current) this.#notify(group, watcher, current);
    return () => {
      const watchers = this.#watchers.get(group);
      if (!watchers?.delete(watcher)) return;
      if (watchers.size > 0) return;
      this.#watchers.delete(group);
      try {
        this.#opts.onLastUnwatch?.(group);
      } catch (err) {
        this.#opts.onError?.(group, err);
      }
    };
  }

  /** Groups that currently have at least one watcher. */
  groups(): string[] {
    return [...this.#watchers.keys()];
  }

  #notify(group: string, watcher: Watcher, snapshot: Snapshot): void {
    try {
      watcher.cb(snapshot);
    } catch (err) {
      this.#opts.onError?.(group, err);
    }
  }
}
