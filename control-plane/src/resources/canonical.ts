// Canonical forms of resources: stable key order, store-stamped metadata removed, content equality.
import type { Resource } from './types.ts';

const METADATA_ORDER = ['name', 'labels', 'generation', 'createdAt', 'updatedAt'];

function rank(order: readonly string[], key: string): number {
  const i = order.indexOf(key);
  return i === -1 ? order.length : i;
}

/** A deep copy with object keys sorted (alphabetically; plain values and arrays keep their order). */
export function sortKeys(value: unknown, order: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => rank(order, a) - rank(order, b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

/** The resource as plain JSON in display order: apiVersion, kind, metadata (name first), spec (sorted keys). */
export function canonicalResource(r: Resource): Record<string, unknown> {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: sortKeys(r.metadata, METADATA_ORDER),
    spec: sortKeys(r.spec),
  };
}

/** The resource without the store's stamps (generation, createdAt, updatedAt): what an operator wrote. */
export function withoutStamps(r: Resource): Resource {
  const metadata: Resource['metadata'] = { name: r.metadata.name };
  if (r.metadata.labels !== undefined && Object.keys(r.metadata.labels).length > 0) metadata.labels = r.metadata.labels;
  return { ...r, metadata } as Resource;
}

/** Stable JSON (sorted keys) for equality checks. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function sameSpec(a: Resource, b: Resource): boolean {
  return stableJson(a.spec) === stableJson(b.spec);
}

/** Same spec and labels: applying `b` over `a` changes nothing. */
export function sameContent(a: Resource, b: Resource): boolean {
  return sameSpec(a, b) && stableJson(a.metadata.labels ?? {}) === stableJson(b.metadata.labels ?? {});
}
