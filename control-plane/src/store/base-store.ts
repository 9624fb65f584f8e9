// The Store logic shared by every backend: in-memory state, serialized commits, revision counter, watchers.
import { KINDS, type Kind, keyOf, type Resource, type ResourceKey } from '../resources/types.ts';
import { StoreConflictError } from './errors.ts';
import type { Store, StoreEvent, StoreListener, StoreTransaction } from './store.ts';
import { applyTransaction, deepFreeze } from './transaction.ts';

/** What a backend persists: the revision and every resource (sorted by kind/name). */
export interface PersistedState {
  revision: number;
  resources: Resource[];
}

function byKindAndName(a: Resource, b: Resource): number {
  const ka = KINDS.indexOf(a.kind);
  const kb = KINDS.indexOf(b.kind);
  if (ka !== kb) return ka - kb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * A Store over a backend that loads and persists the whole state. Commits run one at a time; a commit's
 * changes become visible (get/list/watch) only after `persist` resolved, so readers never see undurable state.
 * Returned resources are deeply frozen.
 */
export abstract class BaseStore implements Store {
  #resources = new Map<string, Resource>();
  #revision = 0;
  #listeners = new Set<StoreListener>();
  #tail: Promise<unknown> = Promise.resolve();
  #state: 'new' | 'open' | 'closed' = 'new';

  /** Reads the persisted state (undefined when there is none yet). */
  protected abstract load(): Promise<PersistedState | undefined>;
  /** Durably replaces the persisted state; the commit fails (and changes nothing) if this rejects. */
  protected abstract persist(state: PersistedState): Promise<void>;
  /** Gives up what load() took (a directory lock); called once by close(). */
  protected async release(): Promise<void> {}

  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw new Error('store is closed');
    const state = await this.load();
    if (state) {
      this.#revision = state.revision;
      for (const r of state.resources)
        this.#resources.set(keyOf({ kind: r.kind, name: r.metadata.name }), deepFreeze(r));
    }
    this.#state = 'open';
  }

  get(key: ResourceKey): Resource | undefined {
    return this.#resources.get(keyOf(key));
  }

  list(kind?: Kind): Resource[] {
    const all = [...this.#resources.values()];
    return (kind === undefined ? all : all.filter((r) => r.kind === kind)).sort(byKindAndName);
  }

  revision(): number {
    return this.#revision;
  }

  commit(tx: StoreTransaction): Promise<number> {
    const run = this.#tail.then(() => this.#commitNow(tx));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #commitNow(tx: StoreTransaction): Promise<number> {
    if (this.#state !== 'open') throw new Error(`store is ${this.#state === 'new' ? 'not open' : 'closed'}`);
    if (tx.ifRevision !== undefined && tx.ifRevision !== this.#revision) {
      throw new StoreConflictError(tx.ifRevision, this.#revision);
    }
    const { next, events } = applyTransaction(this.#resources, tx, new Date().toISOString());
    if (events.length === 0) return this.#revision;
    const revision = this.#revision + 1;
    await this.persist({ revision, resources: [...next.values()].sort(byKindAndName) });
    this.#resources = next;
    this.#revision = revision;
    const stamped: StoreEvent[] = events.map((e) => ({ ...e, revision }));
    for (const listener of [...this.#listeners]) {
      try {
        listener(stamped);
      } catch (err) {
        // A failing watcher must not fail a commit that is already durable.
        process.emitWarning(`store watcher failed: ${(err as Error).message}`);
      }
    }
    return revision;
  }

  watch(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Waits for queued commits, then refuses new ones. */
  async close(): Promise<void> {
    await this.#tail;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#listeners.clear();
    if (wasOpen) await this.release();
  }
}
