// Short content hashes: resource versions from encoded bytes, type versions from (name, version) pairs.
import { createHash } from 'node:crypto';

/** The first 16 hex characters of the sha256 of data. */
export function shortHash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** A version over (name, version) pairs that ignores their order: equal sets give equal versions. */
export function versionOfPairs(pairs: Iterable<readonly [string, string]>): string {
  const sorted = [...pairs].map(([name, version]) => JSON.stringify([name, version])).sort();
  return shortHash(sorted.join('\n'));
}

/** The version of a set of resources keyed by name (each carrying its own content version). */
export function versionOfResources(resources: ReadonlyMap<string, { version: string }>): string {
  return versionOfPairs([...resources].map(([name, r]) => [name, r.version] as const));
}
