// Proxy benchmark: wrk against the upstream directly, nginx, HAProxy, Node's http-proxy and the Trellis sidecar; ratios
// to nginx. Also the sidecar with tracing at 1% and 100% sampling (OTLP/HTTP to a discarding sink), relative to the
// plain sidecar, with two worker threads on the same core (--concurrency 2: its CPU per request against one thread's),
// and TCP proxying (HAProxy mode tcp against a sidecar's --tcp-upstream listener). Then HTTP/2 with h2load: h2c
// requests and gRPC unary calls through nginx (proxy_pass, grpc_pass) and the sidecar. Prints issue 16's goals.
// Usage: npm run bench:proxy -- [--seconds 10] [--rounds 3] [--connections 32] [--targets nginx,trellis] [--profile DIR]
//   [--baseline DIR]: also runs the sidecar of another checkout (e.g. a `git worktree` of the previous commit) as
//   `trellis baseline`, for an A/B of a change in one run (with --profile, both sidecars are profiled).
//   [--sidecar-node-args=--max-semi-space-size=4]: Node/V8 flags for the `trellis sidecar` target only (with
//   `--baseline .`, an A/B of the flags on the same code).
// Each proxy is pinned to CPU 0; wrk, the upstream and the control plane share CPU 1. Runs are interleaved.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCommands } from './lib/apt.ts';
import { cpuMicrosOf, settle } from './lib/cpu.ts';
import { runH2load } from './lib/h2load.ts';
import { startHaproxy } from './lib/haproxy.ts';
import { nginxCommon, startNginx, startNginxProxy, startNginxUpstream } from './lib/nginx.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { freePort, waitForPort } from './lib/ports.ts';
import {
  median,
  ROOT,
  serviceYaml,
  spawnNode,
  startSidecar as startBenchSidecar,
  startControlPlane,
} from './lib/trellis.ts';
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
const HAPROXY_TCP = 'haproxy tcp';
const TRELLIS_TCP = 'trellis tcp';
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
  ensureCommands({ wrk: 'wrk', nginx: 'nginx-light', haproxy: 'haproxy', h2load: 'nghttp2-client' });
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-bench-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const upstream = await startNginxUpstream(path.join(dir, 'upstream'), await freePort(), LOAD_CPU);
    stops.push(() => upstream.stop());
    const nginx = await startNginxProxy(path.join(dir, 'nginx'), await freePort(), upstream.port, PROXY_CPU);
    stops.push(() => nginx.stop());

    const haproxy = await startHaproxy(path.join(dir, 'haproxy'), 'http', await freePort(), upstream.port, PROXY_CPU);
    stops.push(() => haproxy.stop());
    const haproxyTcp = await startHaproxy(
      path.join(dir, 'haproxy-tcp'),
      'tcp',
      await freePort(),
      upstream.port,
      PROXY_CPU,
    );
    stops.push(() => haproxyTcp.stop());

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
    cp.apply(
      `${serviceYaml('upstream', 80, 'HTTP', upstream.port)}---\n${serviceYaml('upstream-tcp', 80, 'TCP', upstream.port)}`,
    );
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
    // The TCP proxy: a sidecar's outbound TCP listener (--tcp-upstream) to the same upstream, bytes only.
    const tcpPort = await freePort();
    const tcpSidecar = await startSidecar('bench-tcp', ['--tcp-upstream', `upstream-tcp:80=${tcpPort}`]);
    await waitForPort(tcpPort);
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
      { name: 'haproxy', port: haproxy.port, headers: [], pids: () => haproxy.pids() },
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
      { name: HAPROXY_TCP, port: haproxyTcp.port, headers: [], pids: () => haproxyTcp.pids() },
      { name: TRELLIS_TCP, port: tcpPort, headers: [], pids: () => [tcpSidecar.child.pid ?? 0] },
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
    const ratio = (a: string, b: string, pick: (r: Row) => number): number => {
      const ra = rows.get(a);
      const rb = rows.get(b);
      return ra === undefined || rb === undefined ? Number.NaN : pick(ra) / pick(rb);
    };
    const rpsOf = (r: Row): number => median(r.runs.map((x) => x.rps));
    const cpuOf = (r: Row): number => 1 / median(r.cpuUsPerReq);
    const goal = (name: string, value: number, min: number): void => {
      if (Number.isFinite(value))
        console.log(
          `  ${name.padEnd(52)} ${fmt(value, 2).padStart(6)}  goal ≥ ${min}  ${value >= min ? 'met' : 'MISSED'}`,
        );
    };
    console.log('\nGoals (issue 16), req/s ratios of this run (per-core CPU ratios beside them)');
    goal('HTTP/1.1 trellis sidecar x nginx', ratio('trellis sidecar', 'nginx', rpsOf), 0.75);
    goal('  (CPU per request: nginx / trellis)', ratio('trellis sidecar', 'nginx', cpuOf), 0.75);
    goal('HTTP/1.1 trellis sidecar x haproxy', ratio('trellis sidecar', 'haproxy', rpsOf), 0.75);
    goal('TCP trellis x haproxy (mode tcp)', ratio(TRELLIS_TCP, HAPROXY_TCP, rpsOf), 0.95);
    goal('  (CPU per request: haproxy / trellis)', ratio(TRELLIS_TCP, HAPROXY_TCP, cpuOf), 0.95);
    if (only === undefined) await h2Section(dir, upstream.port, cp, startSidecar, stops);
    console.error(`OTLP sink: ${sink.requests} export requests, ${(sink.bytes / 1e6).toFixed(1)} MB`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const s of stops) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * HTTP/2: h2load (32 h2c connections × 10 streams) through nginx and the sidecar, plain requests to the HTTP/1.1
 * upstream and gRPC unary calls (a POST of an empty message) to an h2c upstream that answers 200 with a grpc-status 0
 * trailer (nginx: `grpc_pass`; the sidecar: a GRPC service port). Interleaved rounds, medians, CPU µs per request.
 */
async function h2Section(
  dir: string,
  upstreamPort: number,
  cp: { apply(yaml: string): void },
  startSidecar: (service: string, extra: string[]) => Promise<{ port: number; child: ChildProcess }>,
  stops: (() => Promise<void>)[],
): Promise<void> {
  const grpcUpstreamPort = await freePort();
  const grpcUpstream = await startNginx(
    path.join(dir, 'grpc-upstream'),
    `${nginxCommon(path.join(dir, 'grpc-upstream'))}
http {
  access_log off;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  server {
    listen 127.0.0.1:${grpcUpstreamPort} http2;
    location / { default_type application/grpc; add_trailer grpc-status 0 always; return 200 "reply"; }
  }
}
`,
    grpcUpstreamPort,
    LOAD_CPU,
  );
  stops.push(() => grpcUpstream.stop());
  const nginxH2Port = await freePort();
  const nginxH2 = await startNginx(
    path.join(dir, 'nginx-h2'),
    `${nginxCommon(path.join(dir, 'nginx-h2'))}
http {
  access_log off;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  upstream grpcbackend { server 127.0.0.1:${grpcUpstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${nginxH2Port} http2;
    location /bench.Echo/ { grpc_pass grpc://grpcbackend; }
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
    nginxH2Port,
    PROXY_CPU,
  );
  stops.push(() => nginxH2.stop());
  cp.apply(serviceYaml('upstream-grpc', 9090, 'GRPC', grpcUpstreamPort));
  const sidecar = await startSidecar('bench-h2', []);
  const request = path.join(dir, 'grpc-request.bin');
  writeFileSync(request, Buffer.alloc(5)); // an empty message: flags 0, length 0
  const grpc = { data: request, headers: ['content-type: application/grpc', 'te: trailers'], path: '/bench.Echo/Call' };
  const targets = [
    { name: 'nginx h2c', port: nginxH2Port, authority: [], grpc: false, pids: () => nginxH2.pids() },
    {
      name: 'trellis h2c',
      port: sidecar.port,
      authority: [':authority: upstream'],
      grpc: false,
      pids: () => [sidecar.child.pid ?? 0],
    },
    { name: 'nginx grpc_pass', port: nginxH2Port, authority: [], grpc: true, pids: () => nginxH2.pids() },
    {
      name: 'trellis grpc',
      port: sidecar.port,
      authority: [':authority: upstream-grpc:9090'],
      grpc: true,
      pids: () => [sidecar.child.pid ?? 0],
    },
  ];
  const run = (t: (typeof targets)[number], seconds: number) =>
    runH2load({
      url: `http://127.0.0.1:${t.port}${t.grpc ? grpc.path : '/'}`,
      seconds,
      connections: CONNECTIONS,
      streams: 10,
      cpus: LOAD_CPU,
      headers: [...t.authority, ...(t.grpc ? grpc.headers : [])],
      ...(t.grpc ? { data: grpc.data } : {}),
    });
  const results = new Map(targets.map((t) => [t.name, { rps: [] as number[], cpu: [] as number[], errors: 0 }]));
  for (const t of targets) await run(t, 2); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as (typeof targets)[number]);
    if (round % 2 === 1) order.reverse();
    for (const t of order) {
      const before = cpuMicrosOf(t.pids());
      const r = await run(t, SECONDS);
      await settle(t.pids());
      const row = results.get(t.name)!;
      row.rps.push(r.rps);
      row.cpu.push((cpuMicrosOf(t.pids()) - before) / r.requests);
      row.errors += r.errors;
      console.error(
        `round ${round + 1}/${ROUNDS} ${t.name}: ${r.rps.toFixed(0)} req/s${r.errors ? `, ${r.errors} errors` : ''}`,
      );
    }
  }
  const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(
    `\nHTTP/2 (h2c), h2load ${CONNECTIONS} connections x 10 streams, ${SECONDS}s x ${ROUNDS} rounds (medians)`,
  );
  console.log(
    [
      'target'.padEnd(22),
      'req/s'.padStart(9),
      'cpu µs/req'.padStart(11),
      'x nginx'.padStart(8),
      'errors'.padStart(7),
    ].join(' '),
  );
  for (const t of targets) {
    const row = results.get(t.name)!;
    const peer = results.get(t.grpc ? 'nginx grpc_pass' : 'nginx h2c')!;
    console.log(
      [
        t.name.padEnd(22),
        fmt(median(row.rps)).padStart(9),
        fmt(median(row.cpu), 1).padStart(11),
        fmt(median(row.rps) / median(peer.rps), 2).padStart(8),
        String(row.errors).padStart(7),
      ].join(' '),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
