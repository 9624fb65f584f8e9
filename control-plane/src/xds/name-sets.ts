// Interned sets of subscribed names: the streams of a group subscribe to the same RDS/EDS names, so they share one set.

/** Sets this small are kept per stream (a shared one would save less than the key costs). */
export const MIN_SHARED_NAMES = 8;

const pool = new Map<string, WeakRef<ReadonlySet<string>>>();
const collected = new FinalizationRegistry<string>((key) => {
  if (pool.get(key)?.deref() === undefined) pool.delete(key);
});

/**
 * The shared set equal to `names` (made from it on first use), or `names` itself when small. A shared set must
 * never be changed: the holder copies it first. Sets nobody holds any more leave the pool.
 */
export function internNames(names: ReadonlySet<string>): ReadonlySet<string> {
  if (names.size < MIN_SHARED_NAMES) return names;
  const key = JSON.stringify([...names].sort());
  const hit = pool.get(key)?.deref();
  if (hit) return hit;
  pool.set(key, new WeakRef(names));
  collected.register(names, key);
  return names;
}
