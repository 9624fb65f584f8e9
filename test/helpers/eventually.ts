// Bounded polling for state that converges asynchronously (config pushed over xDS): retry until it holds.

/**
 * Calls fn until it resolves without throwing, at most `tries` times, pausing `intervalMs` between tries;
 * rethrows the last error. For convergence checks only; the bound keeps tests finite.
 */
export async function eventually<T>(fn: () => Promise<T>, tries = 100, intervalMs = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw last;
}
