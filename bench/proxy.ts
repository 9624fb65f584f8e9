// Proxy benchmark: wrk against the upstream directly, nginx, Node's http-proxy and the Trellis sidecar; ratios to nginx.
// Also the sidecar with tracing at 1% and 100% sampling (OTLP/HTTP to a discarding sink), relative to the plain sidecar,
// and with two worker threads on the same core (--concurrency 2: its CPU per request against one thread's).
// Usage: npm run bench:proxy -- [--seconds 10] [--rounds 3] [--connections 32] [--targets nginx,trellis] [--profile DIR]
//   [--baseline DIR]: also runs the sidecar of another checkout (e.g. a `git worktree` of the previous commit) as
//   `trellis baseline`, for an A/B of a change in one run (with --profile, both sidecars are profiled).
//   [--sidecar-node-args=--max-semi-space-size=4]: Node/V8 flags for the `trellis sidecar` target only (with
//   `--baseline .`, an A/B of the flags on the same code).
// Each proxy is pinned to CPU 0; wrk, the upstream and the control plane share CPU 1. Runs are interleaved.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCommands } from './lib/apt.ts';
import { cpuMicrosOf, settle } from './lib/cpu.ts';
import { startNginxProxy, startNginxUpstream } from './lib/nginx.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { freePort, waitForPort } from './lib/ports.ts';
import { median, ROOT, spawnNode, startSidecar as startBenchSidecar, startControlPlane } from './lib/trellis.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    /** Only targets whose name starts with one of these (comma-separated), e.g. `nginx,trellis sidecar`. */
    targets: { type: 'string' },
    /** Write a V8 CPU profile of the untraced sidecar into this directory (node --cpu-prof). */
    profile: { type: 'string' },
    /** A checkout whose sidecar runs as the `trellis baseline` target (same control plane, same flags). */
    baseline: { type: 'string' },
    /** Node/V8 flags (space-separated) for the `trellis sidecar` target only. */
    'sidecar-node-args': { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const PROXY_CPU = '0';
const TRACED_1 = 'trellis +tracing 1%';
const TRACED_100 = 'trellis +tracing 100%';
const BASELINE = 'trellis baseline';
const WORKERS = 'trellis 2 workers, 1 core';
const LOAD_CPU = '1';
const PROFILE_ARGS =
  values.profile === undefined
    ? []
    : ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', path.resolve(values.profile)];

interface Target {
  name: string;
  port: number;
  headers: string[];
  pids(): number[];
}

interface Row {
  name: string;
  runs: WrkResult[];
  cpuUsPerReq: number[];
}

async function main(): Promise<void> {
  ensureCommands({ wrk: 'wrk', nginx: 'nginx-light' });
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-bench-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const upstream = await startNginxUpstream(path.join(dir, 'upstream'), await freePort(), LOAD_CPU);
    stops.push(() => upstream.stop());
    const nginx = await startNginxProxy(path.join(dir, 'nginx'), await freePort(), upstream.port, PROXY_CPU);
    stops.push(() => nginx.stop());

    const hpPort = await freePort();
    const hp = spawnNode(
      [path.join(ROOT, 'bench/http-proxy-server.ts'), String(hpPort), String(upstream.port)],
      PROXY_CPU,
    );
    children.push(hp);
    hp.stdout?.resume();
    await waitForPort(hpPort);

    // Trellis: control plane (on the load CPU) + one sidecar whose outbound listener proxies to the upstream service.
    const cp = await startControlPlane(path.join(dir, 'cp'), LOAD_CPU, children);
    cp.apply(`apiVersion: trellis.dev/v1
kind: Service
metadata: { name: upstream }
spec:
  ports: [{ name: http, port: 80, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, port: ${upstream.port} }]
`);
    const startSidecar = async (
      service: string,
      extra: string[],
      nodeArgs: string[] = [],
      root = ROOT,
    ): Promise<{ port: number; child: ChildProcess }> => {
      const s = await startBenchSidecar({
        xds: cp.xdsInsecure,
        service,
        cpus: PROXY_CPU,
        children,
        extra,
        nodeArgs,
        root,
      });
      return { port: s.outboundPort, child: s.child };
    };
    const sidecarNodeArgs = (values['sidecar-node-args'] ?? '').split(' ').filter((a) => a !== '');
    const sidecar = await startSidecar('bench-client', [], [...PROFILE_ARGS, ...sidecarNodeArgs]);
    const outbound = sidecar.port;
    // Two worker threads on the same core: CPU per request against one thread's (the per-core cost of --concurrency).
    const workers = await startSidecar('bench-workers', ['--concurrency', '2']);
    const baseline =
      values.baseline === undefined
        ? undefined
        : await startSidecar('bench-baseline', [], PROFILE_ARGS, path.resolve(values.baseline));
    // Traced sidecars export OTLP/HTTP to a sink in this process (it reads and discards).
    const sink = await startOtlpSink();
    stops.push(() => sink.close());
    const traced = (percent: string) =>
      startSidecar(`bench-traced-${percent}`, [
        '--tracing-endpoint',
        sink.endpoint,
        '--tracing-sampling',
        percent,
        '--tracing-batch-delay',
        '1s',
      ]);
    const traced1 = await traced('1');
    const traced100 = await traced('100');

    const targets: Target[] = [
      { name: 'direct (no proxy)', port: upstream.port, headers: [], pids: () => [] },
      { name: 'nginx', port: nginx.port, headers: [], pids: () => nginx.pids() },
      { name: 'http-proxy (node)', port: hpPort, headers: [], pids: () => [hp.pid ?? 0] },
      { name: 'trellis sidecar', port: outbound, headers: ['Host: upstream'], pids: () => [sidecar.child.pid ?? 0] },
      {
        name: WORKERS,
        port: workers.port,
        headers: ['Host: upstream'],
        pids: () => [workers.child.pid ?? 0],
      },
      ...(baseline === undefined
        ? []
        : [
            { name: BASELINE, port: baseline.port, headers: ['Host: upstream'], pids: () => [baseline.child.pid ?? 0] },
          ]),
      {
        name: TRACED_1,
        port: traced1.port,
        headers: ['Host: upstream'],
        pids: () => [traced1.child.pid ?? 0],
      },
      {
        name: TRACED_100,
        port: traced100.port,
        headers: ['Host: upstream'],
        pids: () => [traced100.child.pid ?? 0],
      },
    ];
    const only = values.targets?.split(',').map((t) => t.trim());
    if (only !== undefined) {
      const keep = targets.filter(
        (t) => t.name === 'nginx' || t.name === BASELINE || only.some((o) => t.name.startsWith(o)),
      );
      targets.splice(0, targets.length, ...keep);
    }
    const rows = new Map<string, Row>(targets.map((t) => [t.name, { name: t.name, runs: [], cpuUsPerReq: [] }]));
    // Warm-up (JIT, pools), then interleaved measured rounds.
    for (const t of targets)
      await runWrk({
        url: `http://127.0.0.1:${t.port}/`,
        seconds: 2,
        connections: CONNECTIONS,
        cpus: LOAD_CPU,
        headers: t.headers,
      });
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts at the next target and every other round runs backwards: a run measures slower right
      // after a pause or right after another proxy's run (seen here), so no target keeps the same neighbour.
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      if (round % 2 === 1) order.reverse();
      for (const t of order) {
        const before = t.pids().length ? cpuMicrosOf(t.pids()) : 0;
        const r = await runWrk({
          url: `http://127.0.0.1:${t.port}/`,
          seconds: SECONDS,
          connections: CONNECTIONS,
          cpus: LOAD_CPU,
          headers: t.headers,
        });
        await settle(t.pids());
        const after = t.pids().length ? cpuMicrosOf(t.pids()) : 0;
        const row = rows.get(t.name)!;
        row.runs.push(r);
        row.cpuUsPerReq.push(t.pids().length ? (after - before) / r.requests : Number.NaN);
        console.error(
          `round ${round + 1}/${ROUNDS} ${t.name}: ${r.rps.toFixed(0)} req/s${r.errors ? `, ${r.errors} errors` : ''}`,
        );
      }
    }
    const nginxRps = median(rows.get('nginx')!.runs.map((r) => r.rps));
    const nginxCpu = median(rows.get('nginx')!.cpuUsPerReq);
    const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
    console.log(
      `\nHTTP/1.1 keep-alive, ${CONNECTIONS} connections, ${SECONDS}s x ${ROUNDS} interleaved rounds (medians); proxies on CPU ${PROXY_CPU}, wrk+upstream on CPU ${LOAD_CPU}`,
    );
    console.log(
      [
        'target'.padEnd(22),
        'req/s'.padStart(9),
        'p50 ms'.padStart(8),
        'p99 ms'.padStart(8),
        'cpu µs/req'.padStart(11),
        'x nginx'.padStart(8),
        'cpu x nginx'.padStart(12),
        'errors'.padStart(7),
      ].join(' '),
    );
    for (const row of rows.values()) {
      const rps = median(row.runs.map((r) => r.rps));
      console.log(
        [
          row.name.padEnd(22),
          fmt(rps).padStart(9),
          fmt(median(row.runs.map((r) => r.p50Ms)), 2).padStart(8),
          fmt(median(row.runs.map((r) => r.p99Ms)), 2).padStart(8),
          fmt(median(row.cpuUsPerReq), 1).padStart(11),
          fmt(rps / nginxRps, 2).padStart(8),
          // nginx's CPU per request over this target's: the ratio a CPU-bound proxy's req/s would have, less
          // sensitive to what else the machine runs than req/s.
          fmt(nginxCpu / median(row.cpuUsPerReq), 2).padStart(12),
          String(row.runs.reduce((a, r) => a + r.errors, 0)).padStart(7),
        ].join(' '),
      );
    }
    const plainRow = rows.get('trellis sidecar');
    const tracedRows = [TRACED_1, TRACED_100].flatMap((name) => rows.get(name) ?? []);
    if (plainRow !== undefined && tracedRows.length > 0) {
      const plain = median(plainRow.runs.map((r) => r.rps));
      const plainCpu = median(plainRow.cpuUsPerReq);
      console.log(
        '\nTracing overhead, relative to the untraced trellis sidecar in this run (goals: 1% ≥ 0.90x, 100% ≥ 0.65x req/s);',
      );
      console.log('CPU µs per request on the proxy is the steadier figure on a shared machine:');
      for (const row of tracedRows) {
        const rps = median(row.runs.map((r) => r.rps));
        const cpu = median(row.cpuUsPerReq);
        console.log(
          `${row.name.padEnd(22)} ${fmt(rps / plain, 2)}x req/s (${fmt((1 - rps / plain) * 100, 1)}% fewer), ` +
            `${fmt(cpu / plainCpu, 2)}x cpu/req (+${fmt(cpu - plainCpu, 1)} µs)`,
        );
      }
    }
    const baselineRow = rows.get(BASELINE);
    if (plainRow !== undefined && baselineRow !== undefined) {
      const rps = median(plainRow.runs.map((r) => r.rps)) / median(baselineRow.runs.map((r) => r.rps));
      const cpu = median(plainRow.cpuUsPerReq) - median(baselineRow.cpuUsPerReq);
      console.log(
        `\nthis checkout vs ${values.baseline}: ${fmt(rps, 3)}x req/s, ${cpu >= 0 ? '+' : ''}${fmt(cpu, 1)} µs CPU/request`,
      );
    }
    console.error(`OTLP sink: ${sink.requests} export requests, ${(sink.bytes / 1e6).toFixed(1)} MB`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const s of stops) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
