// Latency per hop and footprint: constant-rate HTTP/1.1 load (1,000 and 5,000 req/s, latency from each request's due
// time, no coordinated omission) straight to an nginx upstream, through nginx, through one Trellis sidecar, through
// two (client → sidecar → sidecar → upstream, as a mesh call) and through one sidecar with 1% tracing (OTLP to a
// discarding sink; metrics are always on). Prints p50/p99/p99.9 and what each hop adds, the proxies' CPU seconds per
// 1,000 requests (= vCPU per 1,000 req/s), resident memory idle and under load, and issue 16's goals, met or missed.
// Proxies on CPU 0; the load generator (this process), the upstream and the control plane on CPU 1.
// Usage: npm run bench:latency -- [--seconds 20] [--rates 1000,5000] [--connections 16]
//   [--sidecar-node-args=--max-semi-space-size=1]   Node/V8 flags for every sidecar
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCommands } from './lib/apt.ts';
import { quantile, runConstantRate } from './lib/constant-rate.ts';
import { cpuMicrosOf, settle } from './lib/cpu.ts';
import { startNginxProxy, startNginxUpstream } from './lib/nginx.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { freePort } from './lib/ports.ts';
import { serviceYaml, startControlPlane, startSidecar } from './lib/trellis.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rates: { type: 'string', default: '1000,5000' },
    connections: { type: 'string', default: '16' },
    'sidecar-node-args': { type: 'string', default: '' },
  },
});
const SECONDS = Number(values.seconds);
const RATES = (values.rates ?? '').split(',').map(Number);
const CONNECTIONS = Number(values.connections);
const SIDECAR_NODE_ARGS = (values['sidecar-node-args'] ?? '').split(' ').filter((a) => a !== '');
const PROXY_CPU = '0';
const LOAD_CPU = '1';

interface Target {
  name: string;
  port: number;
  host: string;
  /** Proxy hops between the load and the upstream. */
  hops: number;
  /** Processes whose CPU and memory count (the proxies). */
  pids: number[];
}

interface Measured {
  target: Target;
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  errorKinds: Record<string, number>;
  sendLagP99: number;
  cpuSecondsPer1000: number;
  rssMb: number;
}

/** Resident memory of a process in MB (VmRSS). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

/** GET / with Host `host` until it answers 200 (the route and its endpoints have arrived), at most 20 s. */
async function until200(port: number, host: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`127.0.0.1:${port} (Host ${host}) never answered 200`);
}

async function measure(target: Target, rate: number): Promise<Measured> {
  const opts = { port: target.port, host: target.host, rate, connections: CONNECTIONS };
  await runConstantRate({ ...opts, seconds: 2 }); // warm-up: JIT, pools
  await settle(target.pids);
  const cpuBefore = cpuMicrosOf(target.pids);
  const r = await runConstantRate({ ...opts, seconds: SECONDS });
  const rss = target.pids.reduce((sum, pid) => sum + rssMb(pid), 0);
  await settle(target.pids);
  const cpu = cpuMicrosOf(target.pids) - cpuBefore;
  const l = r.latencies;
  return {
    target,
    rate,
    p50: quantile(l, 0.5),
    p99: quantile(l, 0.99),
    p999: quantile(l, 0.999),
    max: l[l.length - 1] ?? Number.NaN,
    errors: r.errors,
    errorKinds: r.errorKinds,
    sendLagP99: r.sendLagP99,
    cpuSecondsPer1000: target.pids.length === 0 ? Number.NaN : cpu / 1e6 / (l.length / 1000),
    rssMb: target.pids.length === 0 ? Number.NaN : rss,
  };
}

async function main(): Promise<void> {
  ensureCommands({ nginx: 'nginx-light', taskset: 'util-linux' });
  // The load generator shares the load CPU with the upstream and the control plane.
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-latency-'));
  const children: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const upstream = await startNginxUpstream(path.join(dir, 'upstream'), await freePort(), LOAD_CPU);
    stops.push(() => upstream.stop());
    const nginx = await startNginxProxy(path.join(dir, 'nginx'), await freePort(), upstream.port, PROXY_CPU);
    stops.push(() => nginx.stop());
    const sink = await startOtlpSink();
    stops.push(() => sink.close());

    const cp = await startControlPlane(path.join(dir, 'cp'), LOAD_CPU, children);
    cp.apply(`${serviceYaml('app', 80, 'HTTP', upstream.port)}---\n${serviceYaml('app-mesh', 80)}`);
    const sidecar = (service: string, extra: string[] = [], appPort?: number) =>
      startSidecar({
        xds: cp.xdsInsecure,
        service,
        cpus: PROXY_CPU,
        children,
        extra,
        nodeArgs: SIDECAR_NODE_ARGS,
        ...(appPort === undefined ? {} : { appPort, waitFor: 'inbound' as const }),
      });
    const server = await sidecar('app-mesh', [], upstream.port);
    const client = await sidecar('latency-client');
    const traced = await sidecar('latency-traced', [
      '--tracing-endpoint',
      sink.endpoint,
      '--tracing-sampling',
      '1',
      '--tracing-batch-delay',
      '1s',
    ]);
    await until200(client.outboundPort, 'app');
    await until200(client.outboundPort, 'app-mesh');
    await until200(traced.outboundPort, 'app');
    const pid = (c: ChildProcess): number => c.pid ?? 0;
    // Idle footprint: a configured sidecar that has served a few requests, and the control plane holding the mesh.
    await settle([pid(client.child), pid(children[0] as ChildProcess)]);
    const idle = { sidecar: rssMb(pid(client.child)), controlPlane: rssMb(pid(children[0] as ChildProcess)) };

    const targets: Target[] = [
      { name: 'direct (no proxy)', port: upstream.port, host: 'app', hops: 0, pids: [] },
      { name: 'nginx', port: nginx.port, host: 'app', hops: 1, pids: nginx.pids() },
      { name: 'trellis, one sidecar', port: client.outboundPort, host: 'app', hops: 1, pids: [pid(client.child)] },
      {
        name: 'trellis, two sidecars',
        port: client.outboundPort,
        host: 'app-mesh',
        hops: 2,
        pids: [pid(client.child), pid(server.child)],
      },
      {
        name: 'trellis, one sidecar +1% tracing',
        port: traced.outboundPort,
        host: 'app',
        hops: 1,
        pids: [pid(traced.child)],
      },
    ];
    const results: Measured[] = [];
    for (const rate of RATES) {
      for (const t of targets) {
        const m = await measure(t, rate);
        results.push(m);
        console.error(
          `${rate} req/s ${t.name}: p50 ${m.p50.toFixed(3)} ms, p99 ${m.p99.toFixed(3)} ms${m.errors ? `, ${m.errors} errors ${JSON.stringify(m.errorKinds)}` : ''}`,
        );
      }
    }
    report(results, idle);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: Measured[], idle: { sidecar: number; controlPlane: number }): void {
  const f = (n: number, d = 3): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(
    `\nConstant-rate HTTP/1.1 over ${CONNECTIONS} keep-alive connections, ${SECONDS} s per run, latency from each request's due time (ms)` +
      (SIDECAR_NODE_ARGS.length ? `; sidecars run with ${SIDECAR_NODE_ARGS.join(' ')}` : ''),
  );
  console.log(
    [
      'rate'.padStart(5),
      'target'.padEnd(34),
      'p50'.padStart(7),
      'p99'.padStart(7),
      'p99.9'.padStart(7),
      'max'.padStart(7),
      '+p50/hop'.padStart(9),
      '+p99/hop'.padStart(9),
      'CPU s/1k req'.padStart(13),
      'RSS MB'.padStart(7),
      'errors'.padStart(7),
      'send lag p99'.padStart(13),
    ].join(' '),
  );
  for (const m of results) {
    const direct = results.find((d) => d.rate === m.rate && d.target.hops === 0);
    const perHop = (pick: (x: Measured) => number): number =>
      m.target.hops === 0 || direct === undefined ? Number.NaN : (pick(m) - pick(direct)) / m.target.hops;
    console.log(
      [
        String(m.rate).padStart(5),
        m.target.name.padEnd(34),
        f(m.p50).padStart(7),
        f(m.p99).padStart(7),
        f(m.p999).padStart(7),
        f(m.max, 1).padStart(7),
        f(perHop((x) => x.p50)).padStart(9),
        f(perHop((x) => x.p99)).padStart(9),
        f(m.cpuSecondsPer1000).padStart(13),
        f(m.rssMb, 0).padStart(7),
        String(m.errors).padStart(7),
        f(m.sendLagP99).padStart(13),
      ].join(' '),
    );
  }
  const at1000 = (name: string): Measured | undefined => results.find((m) => m.rate === 1000 && m.target.name === name);
  const direct = at1000('direct (no proxy)');
  const two = at1000('trellis, two sidecars');
  const tracedRun = at1000('trellis, one sidecar +1% tracing');
  const goals: [string, number, string, boolean][] = [];
  if (direct !== undefined && two !== undefined) {
    const added = (two.p99 - direct.p99) / 2;
    goals.push(['added p99 per hop at 1,000 req/s (two sidecars)', added, '≤ 0.3 ms', added <= 0.3]);
  }
  if (tracedRun !== undefined) {
    goals.push([
      'vCPU per 1,000 req/s, metrics + 1% tracing',
      tracedRun.cpuSecondsPer1000,
      '≤ 0.10',
      tracedRun.cpuSecondsPer1000 <= 0.1,
    ]);
    goals.push([
      'sidecar RSS under 1,000 req/s, metrics + 1% tracing (MB)',
      tracedRun.rssMb,
      '≤ 80',
      tracedRun.rssMb <= 80,
    ]);
  }
  goals.push(['idle sidecar RSS (MB)', idle.sidecar, '≤ 60', idle.sidecar <= 60]);
  goals.push(['idle control plane RSS, mesh of 2 services (MB)', idle.controlPlane, '≤ 80', idle.controlPlane <= 80]);
  console.log('\nGoals (issue 16)');
  for (const [name, value, goal, met] of goals) {
    console.log(`  ${name.padEnd(58)} ${f(value, 3).padStart(8)}  goal ${goal.padEnd(9)} ${met ? 'met' : 'MISSED'}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
