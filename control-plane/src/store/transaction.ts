// Applies a StoreTransaction to an in-memory state (pure): stamps generation and timestamps, yields the events.
import { sameContent, sameSpec } from '../resources/canonical.ts';
import { keyOf, type Metadata, type Resource } from '../resources/types.ts';
import type { StoreEventType, StoreTransaction } from './store.ts';

export interface PendingEvent {
  type: StoreEventType;
  resource: Resource;
}

export interface AppliedTransaction {
  next: Map<string, Resource>;
  /** Empty when the transaction changes nothing (puts equal to the stored content, deletes of absent keys). */
  events: PendingEvent[];
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The stored form of `r`: a frozen copy with generation (bumped when the spec changes), createdAt and updatedAt. */
export function stamp(r: Resource, prev: Resource | undefined, now: string): Resource {
  const metadata: Metadata = { name: r.metadata.name };
  if (r.metadata.labels !== undefined && Object.keys(r.metadata.labels).length > 0) {
    metadata.labels = { ...r.metadata.labels };
  }
  const prevGeneration = prev?.metadata.generation ?? 0;
  metadata.generation = prev && sameSpec(prev, r) ? prevGeneration : prevGeneration + 1;
  metadata.createdAt = prev?.metadata.createdAt ?? now;
  metadata.updatedAt = now;
  return deepFreeze({ apiVersion: r.apiVersion, kind: r.kind, metadata, spec: structuredClone(r.spec) } as Resource);
}

/** Deletes apply first, then puts (so delete + put of one key replaces it). `now` is an RFC 3339 time. */
export function applyTransaction(
  current: ReadonlyMap<string, Resource>,
  tx: StoreTransaction,
  now: string,
): AppliedTransaction {
  const next = new Map(current);
  const events: PendingEvent[] = [];
  for (const key of tx.delete) {
    const k = keyOf(key);
    const prev = next.get(k);
    if (!prev) continue;
    next.delete(k);
    events.push({ type: 'DELETED', resource: prev });
  }
  for (const r of tx.put) {
    const k = keyOf({ kind: r.kind, name: r.metadata.name });
    const prev = next.get(k);
    if (prev && sameContent(prev, r)) continue;
    const stored = stamp(r, prev, now);
    next.set(k, stored);
    events.push({ type: prev ? 'MODIFIED' : 'ADDED', resource: stored });
  }
  return { next, events };
}
