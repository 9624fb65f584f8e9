// The Store interface: the control plane's source of truth (embedded file store by default, etcd later).
import type { Kind, Resource, ResourceKey } from '../resources/types.ts';

/** One atomic change: every put and delete lands together or not at all. */
export interface StoreTransaction {
  put: Resource[];
  delete: ResourceKey[];
  /**
   * Optimistic concurrency: commit only if the store is still at this revision, else reject with
   * StoreConflictError (store/errors.ts). Lets a writer validate against a state and commit exactly onto it.
   */
  ifRevision?: number;
}

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  resource: Resource;
  /** The store revision after the transaction that produced this event. */
  revision: number;
}

export type StoreListener = (events: readonly StoreEvent[]) => void;

export interface Store {
  /** Loads persisted state; call once before use. */
  open(): Promise<void>;
  get(key: ResourceKey): Resource | undefined;
  list(kind?: Kind): Resource[];
  /** Applies a transaction atomically and durably; resolves with the new revision. Stamps generation/timestamps. */
  commit(tx: StoreTransaction): Promise<number>;
  /** Current revision (increments once per committed transaction). */
  revision(): number;
  /** Subscribes to committed changes; returns the unsubscribe function. */
  watch(listener: StoreListener): () => void;
  close(): Promise<void>;
}
