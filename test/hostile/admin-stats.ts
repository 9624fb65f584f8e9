// Reads a sidecar's admin /stats gauges and waits, with a deadline, for the in-flight ones to return to zero.

/** The gauges that count what a connection or request holds; all must return to zero once traffic stops. */
export const ACTIVE_GAUGES = [
  'downstream_rq_active',
  'upstream_rq_active',
  'downstream_cx_active',
  'upstream_cx_active',
];

/** `name: value` lines of /stats (histogram lines skipped). */
export async function readStats(adminPort: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`, { signal: AbortSignal.timeout(3_000) });
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\S+): (-?\d+(?:\.\d+)?)$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** The non-zero in-flight gauges of listeners, HTTP connection managers and clusters (endpoint rows skipped). */
export function nonZeroActive(stats: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of stats) {
    if (value === 0 || name.includes('.endpoint.')) continue;
    if (ACTIVE_GAUGES.some((g) => name.endsWith(`.${g}`))) out[name] = value;
  }
  return out;
}

/**
 * Polls /stats until every in-flight gauge is zero, except for `allowed` connection gauges (name → most it may show:
 * idle keep-alive connections a peer or a pool keeps, closed after their idle timeout). Throws naming the gauges that
 * stayed up past the deadline; resolves with how long it took.
 */
export async function waitForQuiet(
  adminPort: number,
  timeoutMs = 10_000,
  allowed: (name: string) => number = () => 0,
): Promise<number> {
  const start = Date.now();
  let last: Record<string, number> = {};
  for (;;) {
    try {
      last = nonZeroActive(await readStats(adminPort));
      for (const [name, value] of Object.entries(last)) if (value <= allowed(name)) delete last[name];
      if (Object.keys(last).length === 0) return Date.now() - start;
    } catch (err) {
      last = { [`admin unreachable: ${(err as Error).message}`]: 1 };
    }
    if (Date.now() - start > timeoutMs)
      throw new Error(`gauges still non-zero ${timeoutMs} ms after the attack: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One counter (0 when absent). */
export async function counter(adminPort: number, name: string): Promise<number> {
  return (await readStats(adminPort)).get(name) ?? 0;
}
