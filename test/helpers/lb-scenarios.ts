// YAML builders, bounded concurrent load and per-backend shares for end-to-end load-balancing tests.
import type { HttpResult } from './http-client.ts';
import type { Backend } from './lb-backends.ts';

/** A Service on port 8080 (HTTP) whose endpoints are the given backends (static endpoints). */
export function serviceYaml(name: string, backends: readonly Backend[]): string {
  const endpoints = backends.map((b) => `    - { address: 127.0.0.1, port: ${b.port} }`).join('\n');
  return `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: ${name} }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  endpoints:
${endpoints}
`;
}

/** A TrafficPolicy for `name` with a `loadBalancer` mapping (flow style, e.g. `{ algorithm: MAGLEV }`). */
export function loadBalancerYaml(name: string, loadBalancer: string): string {
  return `apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: ${name} }
spec:
  service: ${name}
  loadBalancer: ${loadBalancer}
`;
}

/** Runs `total` requests with `concurrency` workers; resolves every result (errors as status 0). */
export async function runLoad(
  total: number,
  concurrency: number,
  send: (i: number) => Promise<HttpResult>,
): Promise<HttpResult[]> {
  const results: HttpResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      try {
        results[i] = await send(i);
      } catch (e) {
        results[i] = { status: 0, headers: {}, body: String(e), raw: Buffer.alloc(0) };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Each backend's share of the responses (by the `x-backend` header), as a printable `name=0.123` list too. */
export function shares(results: readonly HttpResult[], backends: readonly Backend[]): Map<string, number> {
  const counts = new Map<string, number>(backends.map((b) => [b.name, 0]));
  for (const r of results) {
    const name = r.headers['x-backend'];
    if (typeof name === 'string' && counts.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return new Map([...counts].map(([k, v]) => [k, v / Math.max(1, results.length)]));
}

export function formatShares(s: ReadonlyMap<string, number>): string {
  return [...s].map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ');
}
