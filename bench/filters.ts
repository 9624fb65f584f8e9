// HTTP filter benchmark: the sidecar's inbound listener (service beside its app) with no filters, with a chain of
// three filters that let the request through untouched, with its response cache, and with gzip; nginx proxying,
// caching (proxy_cache) and gzipping the same upstream as the peers. Ratios: each Trellis target to its nginx peer, the
// three-filter chain to no filters, a cache hit to the uncached sidecar (issue 13's goal: ≥ 2x).
// Usage: npm run bench:filters -- [--seconds 10] [--rounds 3] [--connections 32]; BENCH_KEEP=1 keeps the temporary
// directory (nginx error logs) for a look afterwards.
// Proxies are pinned to CPU 0; wrk, the upstream and the control plane share CPU 1. Runs are interleaved.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCommands } from './lib/apt.ts';
import { cpuMicrosOf, settle } from './lib/cpu.ts';
import { type NginxFeature, type NginxInstance, startNginxProxy, startNginxUpstream } from './lib/nginx.ts';
import { freePort } from './lib/ports.ts';
import { median, startControlPlane, startSidecar } from './lib/trellis.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const PROXY_CPU = '0';
const LOAD_CPU = '1';

interface Target {
  name: string;
  port: number;
  path: string;
  headers: string[];
  pids(): number[];
}

interface Row {
  target: Target;
  runs: WrkResult[];
  cpuUsPerReq: number[];
}

/** A service whose sidecar fronts the upstream nginx as its app, with `policy` (TrafficPolicy spec fields). */
function serviceYaml(name: string, policy: string): string {
  const service = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: ${name} }
spec:
  ports: [{ name: http, port: 80, protocol: HTTP }]
`;
  if (policy === '') return service;
  return `${service}---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: ${name} }
spec:
  service: ${name}
  ${policy}
`;
}

const GZIP = 'Accept-Encoding: gzip';

async function main(): Promise<void> {
  ensureCommands({ wrk: 'wrk', nginx: 'nginx-light' });
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-bench-filters-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const upstream = await startNginxUpstream(path.join(dir, 'upstream'), await freePort(), LOAD_CPU);
    stops.push(() => upstream.stop());
    const nginx = async (feature: NginxFeature): Promise<NginxInstance> => {
      const n = await startNginxProxy(
        path.join(dir, `nginx-${feature}`),
        await freePort(),
        upstream.port,
        PROXY_CPU,
        feature,
      );
      stops.push(() => n.stop());
      return n;
    };
    const [nginxPlain, nginxCache, nginxGzip] = [await nginx('plain'), await nginx('cache'), await nginx('gzip')];
    const cp = await startControlPlane(path.join(dir, 'cp'), LOAD_CPU, children);
    // A rate limit that never refuses, a cache that stores nothing on `/` (no Cache-Control), a compressor the client
    // does not ask for: three filters on the request path, none changing it.
    const policies: Record<string, string> = {
      'bench-plain': '',
      'bench-chain':
        'rateLimit: { requestsPerUnit: 100000000, unit: second }\n  responseCache: {}\n  compression: { encodings: [gzip] }',
      'bench-cache': 'responseCache: {}',
      'bench-gzip': 'compression: { encodings: [gzip] }',
    };
    for (const [name, policy] of Object.entries(policies)) cp.apply(serviceYaml(name, policy));
    const sidecar = async (service: string) => {
      const s = await startSidecar({
        xds: cp.xdsInsecure,
        service,
        cpus: PROXY_CPU,
        children,
        appPort: upstream.port,
        waitFor: 'inbound',
      });
      return { port: s.inboundPort, pids: () => [s.child.pid ?? 0] };
    };
    const plain = await sidecar('bench-plain');
    const chain = await sidecar('bench-chain');
    const cache = await sidecar('bench-cache');
    const gzip = await sidecar('bench-gzip');
    const targets: Target[] = [
      { name: 'nginx', port: nginxPlain.port, path: '/', headers: [], pids: () => nginxPlain.pids() },
      { name: 'trellis (no filters)', port: plain.port, path: '/', headers: [], pids: plain.pids },
      { name: 'trellis +3 filters', port: chain.port, path: '/', headers: [], pids: chain.pids },
      { name: 'nginx cache hit', port: nginxCache.port, path: '/cached/a', headers: [], pids: () => nginxCache.pids() },
      { name: 'trellis uncached', port: plain.port, path: '/cached/a', headers: [], pids: plain.pids },
      { name: 'trellis cache hit', port: cache.port, path: '/cached/a', headers: [], pids: cache.pids },
      { name: 'nginx gzip 4 KiB', port: nginxGzip.port, path: '/text', headers: [GZIP], pids: () => nginxGzip.pids() },
      { name: 'trellis gzip 4 KiB', port: gzip.port, path: '/text', headers: [GZIP], pids: gzip.pids },
    ];
    const rows = new Map<string, Row>(targets.map((t) => [t.name, { target: t, runs: [], cpuUsPerReq: [] }]));
    const run = (t: Target, seconds: number) =>
      runWrk({
        url: `http://127.0.0.1:${t.port}${t.path}`,
        seconds,
        connections: CONNECTIONS,
        cpus: LOAD_CPU,
        headers: t.headers,
      });
    // Warm-up (JIT, pools, the caches' first fill), then interleaved measured rounds.
    for (const t of targets) await run(t, 2);
    for (let round = 0; round < ROUNDS; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      if (round % 2 === 1) order.reverse();
      for (const t of order) {
        const before = cpuMicrosOf(t.pids());
        const r = await run(t, SECONDS);
        await settle(t.pids());
        const row = rows.get(t.name) as Row;
        row.runs.push(r);
        row.cpuUsPerReq.push((cpuMicrosOf(t.pids()) - before) / r.requests);
        console.error(
          `round ${round + 1}/${ROUNDS} ${t.name}: ${r.rps.toFixed(0)} req/s${r.errors ? `, ${r.errors} errors` : ''}`,
        );
      }
    }
    const rps = (name: string): number => median((rows.get(name) as Row).runs.map((r) => r.rps));
    const cpu = (name: string): number => median((rows.get(name) as Row).cpuUsPerReq);
    const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
    console.log(
      `\nHTTP/1.1 keep-alive, ${CONNECTIONS} connections, ${SECONDS}s x ${ROUNDS} interleaved rounds (medians); proxies on CPU ${PROXY_CPU}, wrk+upstream on CPU ${LOAD_CPU}`,
    );
    console.log(
      [
        'target'.padEnd(22),
        'path'.padEnd(10),
        'req/s'.padStart(9),
        'p99 ms'.padStart(8),
        'cpu µs/req'.padStart(11),
        'errors'.padStart(7),
      ].join(' '),
    );
    for (const row of rows.values()) {
      console.log(
        [
          row.target.name.padEnd(22),
          row.target.path.padEnd(10),
          fmt(rps(row.target.name)).padStart(9),
          fmt(median(row.runs.map((r) => r.p99Ms)), 2).padStart(8),
          fmt(cpu(row.target.name), 1).padStart(11),
          String(row.runs.reduce((a, r) => a + r.errors, 0)).padStart(7),
        ].join(' '),
      );
    }
    const ratio = (label: string, a: string, b: string, goal?: string): void => {
      console.log(
        `${label.padEnd(44)} ${fmt(rps(a) / rps(b), 2)}x req/s, ${fmt(cpu(b) / cpu(a), 2)}x by CPU/request${goal ? `  (goal ${goal})` : ''}`,
      );
    };
    console.log('\nRatios (req/s; "by CPU/request" is the steadier figure on a shared machine):');
    ratio('three filters / no filters', 'trellis +3 filters', 'trellis (no filters)');
    ratio('cache hit / uncached', 'trellis cache hit', 'trellis uncached', '≥ 2x');
    ratio('trellis / nginx, plain', 'trellis (no filters)', 'nginx');
    ratio('trellis / nginx, cache hit', 'trellis cache hit', 'nginx cache hit');
    ratio('trellis / nginx, gzip 4 KiB', 'trellis gzip 4 KiB', 'nginx gzip 4 KiB');
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const s of stops) await s().catch(() => undefined);
    if (process.env['BENCH_KEEP'] === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
