// Control-plane scale benchmark: N simulated sidecars (real ADS streams, Delta or SotW) against one control plane.
// Usage: npm run bench:scale -- --proxies 1000 --mode delta|sotw [--services 50] [--timeout 120] [--workers 2]
//   [--route-changes 5] [--endpoint-changes 3] [--shapes service|proxy] [--control-plane DIR] [--json-only]
//   [--cp-prof DIR] (V8 CPU profile of the control plane, written when it stops) [--pin split|cp]
//   [--linger S] (keep the streams open S seconds after the report) [--cp-env K=V ...] (environment of the control
//   plane, e.g. glibc malloc tunables for an A/B)
//   --control-plane DIR runs the control plane of another checkout, e.g. for an A/B against b2020d9:
//   `git worktree add /tmp/wt-scale-base b2020d9`, then give it a node_modules of its own whose @trellis/* links point
//   into the worktree (a symlink to this checkout's node_modules would load this checkout's packages/).
// It starts the control plane of this checkout (or of DIR, e.g. a `git worktree` of an older commit, for an A/B) on
// a temp data dir pinned to CPU 0, applies S services (Service + Route + TrafficPolicy) over the operator API, then
// worker threads pinned to CPU 1 (`--pin cp`: anywhere) open N ADS streams, one connection each, with sidecar node metadata (each proxy
// registers one endpoint of one service), follow references like the sidecar and ACK every response. Reported:
// time until all N hold a full config, control-plane CPU and RSS (memory per proxy), messages and bytes per proxy
// in the connect storm; then for route weight changes (from when Apply returned; Apply's own latency too) and for
// endpoint joins/leaves (extra proxies connecting/disconnecting), the time until every proxy ACKed the change
// (p50/p99/max), bytes and messages per proxy per change, next to the control plane's trellis_cp_convergence_seconds;
// streams reset by the server. Each phase is bounded by --timeout seconds ("not converged: k of N").
// The last line is the result as JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { settle } from './lib/cpu.ts';
import {
  type ControlPlane,
  convergenceHistogram,
  cpuMicros,
  gauges,
  type Histogram,
  histogramDelta,
  procBytes,
  startControlPlane,
} from './scale/control-plane.ts';
import { meshResources, routeWeightChange, SERVICE_PORT, serviceName } from './scale/mesh.ts';
import { type Mode, nowMs, type ProxySpec } from './scale/protocol.ts';
import { Simulator, type WaitResult } from './scale/simulator.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    proxies: { type: 'string', default: '100' },
    mode: { type: 'string', default: 'delta' },
    services: { type: 'string', default: '50' },
    /** Seconds each phase may take before it is reported as not converged. */
    timeout: { type: 'string', default: '120' },
    workers: { type: 'string', default: '2' },
    'route-changes': { type: 'string', default: '5' },
    'endpoint-changes': { type: 'string', default: '3' },
    /**
     * `service` (default): every proxy of a service announces the same inbound address/port, as sidecars started with
     * their defaults do (one snapshot group per service); `proxy`: each proxy its own inbound port (a group each).
     */
    shapes: { type: 'string', default: 'service' },
    /** A checkout whose control plane runs instead of this one's (A/B). */
    'control-plane': { type: 'string' },
    /** Print only the JSON line. */
    'json-only': { type: 'boolean', default: false },
    /**
     * `split` (default): control plane on CPU 0, simulator on CPU 1; `cp`: control plane on CPU 0, the simulator
     * anywhere (it may take CPU 0 when the control plane idles: for runs the one-core simulator would limit).
     */
    pin: { type: 'string', default: 'split' },
    /** Seconds to keep every stream open after the report (heap snapshots, profiles of the idle state). */
    linger: { type: 'string', default: '0' },
    /** Write V8 CPU profiles of the control plane (node --cpu-prof) into this directory. */
    'cp-prof': { type: 'string' },
    'cp-env': { type: 'string', multiple: true },
  },
});
const N = Number(values.proxies);
const MODE = values.mode as Mode;
const SERVICES = Number(values.services);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const CP_ROOT = path.resolve(values['control-plane'] ?? ROOT);
if (MODE !== 'delta' && MODE !== 'sotw') throw new Error(`--mode: expected delta or sotw, got ${values.mode}`);
if (values.shapes !== 'service' && values.shapes !== 'proxy') throw new Error('--shapes: expected service or proxy');
if (values.pin !== 'split' && values.pin !== 'cp') throw new Error('--pin: expected split or cp');
if (!(N >= 1) || !(SERVICES >= 1)) throw new Error('--proxies and --services: expected positive integers');
const log = (s: string): void => {
  if (!values['json-only']) process.stderr.write(`${s}\n`);
};

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function gitHead(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

function latencies(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) ?? Number.NaN, samples: s.length };
}

function proxySpec(i: number, extra: boolean): ProxySpec {
  const id = extra ? `extra-${i}` : `proxy-${i}`;
  // 10.x.y.z: a distinct IP literal per proxy (the registry keeps IP endpoints only).
  const n = extra ? 200_000 + i : i;
  return {
    id,
    service: serviceName(extra ? 1 : i % SERVICES),
    address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    port: values.shapes === 'proxy' ? 20_000 + (n % 40_000) : 15006,
    version: i % 2 === 0 ? 'v1' : 'v2',
    extra,
  };
}

interface ChangeResult {
  converged: boolean;
  /** Changes measured (a phase ends at its first change that does not converge). */
  changes: number;
  errors?: string[];
  /** Proxies that had it / should have it, in the worst change. */
  worst: string;
  latency: Latency;
  applyMs?: Latency;
  /** From when Apply was sent (route changes). */
  latencyFromApplySent?: Latency;
  bytesPerProxyPerChange: number;
  messagesPerProxyPerChange: number;
  cpConvergence: { count: number; mean: number; p50: number; p99: number };
  /** trellis_cp_xds_push_latency_seconds of the change's type: change → response written (the control plane's part). */
  cpPushWritten: { count: number; mean: number; p50: number; p99: number };
}

async function main(): Promise<void> {
  const pin = hasTaskset();
  if (pin && values.pin === 'split')
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  // The commit of the control plane's code, read before it loads (other commits may land during a run).
  const commit = gitHead(CP_ROOT);
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-scale-'));
  let cp: ControlPlane | undefined;
  let sim: Simulator | undefined;
  try {
    const nodeArgs = values['cp-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values['cp-prof'])] : [];
    const cpEnv = Object.fromEntries(
      (values['cp-env'] ?? []).map((kv) => {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new Error(`--cp-env: expected K=V, got ${kv}`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      }),
    );
    cp = await startControlPlane(CP_ROOT, path.join(dir, 'data'), pin ? '0' : undefined, nodeArgs, cpEnv);
    const admin = new AdminClient(cp.api, { timeoutMs: TIMEOUT_MS });
    await admin.apply({ resources: meshResources(SERVICES), dry_run: false });
    await settle([cp.pid], 5_000);
    const rss0 = procBytes(cp.pid, 'VmRSS');
    log(`control plane ${commit} (pid ${cp.pid}), ${SERVICES} services, RSS ${mb(rss0)}`);
    sim = await Simulator.start(Number(values.workers), { address: cp.xds, mode: MODE });

    // Connect storm.
    const proxies = Array.from({ length: N }, (_, i) => proxySpec(i, false));
    const ids = proxies.map((p) => p.id);
    const cpu0 = cpuMicros(cp.pid);
    const simCpu0 = cpuMicros(process.pid);
    const t0 = nowMs();
    sim.connect(proxies);
    const progress = setInterval(() => {
      const at = nowMs();
      void Promise.all([
        sim!.counters(),
        gauges(cp!.metricsPort, ['trellis_cp_xds_inflight_bytes', 'trellis_cp_xds_admission_waiting']),
      ]).then(([c, [inflight, waiting]]) => {
        const cpuS = ((cpuMicros(cp!.pid) - cpu0) / 1e6).toFixed(1);
        log(
          `  ${((at - t0) / 1000).toFixed(0)} s: ${sim!.fullCount()} of ${N} full, ${c.connected} streams open, ` +
            `${c.messages} messages, ${mb(c.bytes)} received, ${sim!.resets.length} resets, control-plane CPU ${cpuS} s, ` +
            `RSS ${mb(procBytes(cp!.pid, 'VmRSS'))}, in flight ${mb(inflight ?? Number.NaN)}, ${waiting} waiting for admission`,
        );
        const codes = Object.entries(resetCodes(sim!.resets));
        if (codes.length > 0) log(`    resets: ${codes.map(([k, n]) => `${n} × ${k.slice(0, 80)}`).join('; ')}`);
      });
    }, 10_000);
    const storm = await sim.waitFull(ids, TIMEOUT_MS);
    clearInterval(progress);
    const stormMs = storm.pending.length === 0 ? Math.max(...storm.times.values()) - t0 : Number.NaN;
    const stormCounters = await sim.counters();
    const stormCpuS = (cpuMicros(cp.pid) - cpu0) / 1e6;
    const simCpuS = (cpuMicros(process.pid) - simCpu0) / 1e6;
    const stormResets = sim.resets.length;
    log(
      storm.pending.length === 0
        ? `all ${N} proxies hold a full config after ${(stormMs / 1000).toFixed(2)} s`
        : `not converged: ${storm.times.size} of ${N} after ${TIMEOUT_MS / 1000} s`,
    );
    await settle([cp.pid], 10_000);
    const rssN = procBytes(cp.pid, 'VmRSS');
    const hwm = procBytes(cp.pid, 'VmHWM');
    const fullIds = ids.filter((id) => storm.times.has(id));

    // Route weight changes: from when Apply returned until every proxy ACKed an RDS response.
    const route = await measureChanges(
      cp,
      sim,
      fullIds,
      Number(values['route-changes']),
      TYPE_RDS,
      'trellis_cp_convergence_seconds',
      async (k) => {
        const watchId = sim!.watch({ typeUrl: TYPE_RDS, namePrefix: '' });
        const before = nowMs();
        await admin.apply({ resources: [routeWeightChange(0, 20 + (k % 60))], dry_run: false });
        const applied = nowMs();
        return { watchId, start: applied, applyMs: applied - before };
      },
    );
    log(`route change: ${describe(route)}`);

    // Endpoint joins and leaves of service 1: every proxy watches its load assignments (wildcard CDS → all EDS).
    const extra: ProxySpec[] = [];
    const joins = await measureChanges(
      cp,
      sim,
      fullIds,
      Number(values['endpoint-changes']),
      TYPE_EDS,
      ENDPOINT_CONVERGENCE,
      async (k) => {
        const watchId = sim!.watch({ typeUrl: TYPE_EDS, namePrefix: `${serviceName(1)}|${SERVICE_PORT}` });
        const p = proxySpec(k, true);
        extra.push(p);
        const start = nowMs();
        sim!.connect([p]);
        return { watchId, start };
      },
    );
    log(`endpoint join: ${describe(joins)}`);
    const leaves = await measureChanges(
      cp,
      sim,
      fullIds,
      Number(values['endpoint-changes']),
      TYPE_EDS,
      ENDPOINT_CONVERGENCE,
      async () => {
        const watchId = sim!.watch({ typeUrl: TYPE_EDS, namePrefix: `${serviceName(1)}|${SERVICE_PORT}` });
        const p = extra.shift()!;
        const start = nowMs();
        sim!.disconnect([p.id]);
        return { watchId, start };
      },
    );
    log(`endpoint leave: ${describe(leaves)} (endpoint grace 1 ms)`);
    // After the changes, with the storm's caches gone idle: what N proxies keep (same N: extras have left).
    const rssEnd = procBytes(cp.pid, 'VmRSS');

    const result = {
      bench: 'scale',
      commit,
      mode: MODE,
      proxies: N,
      services: SERVICES,
      shapes: values.shapes,
      pin: values.pin,
      storm: {
        converged: storm.pending.length === 0,
        full: storm.times.size,
        seconds: round(stormMs / 1000),
        messagesPerProxy: round(stormCounters.messages / N),
        bytesPerProxy: Math.round(stormCounters.bytes / N),
        messages: stormCounters.messages,
        bytes: stormCounters.bytes,
        cpuSeconds: round(stormCpuS),
        simulatorCpuSeconds: round(simCpuS),
        resets: stormResets,
      },
      rss: {
        zeroProxies: rss0,
        nProxies: rssN,
        peak: hwm,
        perProxy: Math.round((rssN - rss0) / N),
        atEnd: rssEnd,
        perProxyAtEnd: Math.round((rssEnd - rss0) / N),
      },
      routeChange: route,
      endpointJoin: joins,
      endpointLeave: leaves,
      resets: sim.resets.length,
      resetCodes: resetCodes(sim.resets),
    };
    printTable(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const linger = Number(values.linger);
    if (linger > 0) {
      log(`keeping the ${N} streams open for ${linger} s (control plane pid ${cp.pid}: profile it now)`);
      await new Promise((resolve) => setTimeout(resolve, linger * 1000));
    }
  } finally {
    await sim?.close();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const TYPE_RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const TYPE_EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const PUSH_LATENCY = 'trellis_cp_xds_push_latency_seconds';
/** Endpoint joins and leaves converge on their own histogram (absent before 2026-12-07: 0 observations). */
const ENDPOINT_CONVERGENCE = 'trellis_cp_endpoint_convergence_seconds';

/** Runs `rounds` changes one after the other, each waited on (bounded) before the next, after the CP settles. */
async function measureChanges(
  cp: ControlPlane,
  sim: Simulator,
  ids: readonly string[],
  rounds: number,
  pushType: string,
  convergenceMetric: string,
  change: (k: number) => Promise<{ watchId: number; start: number; applyMs?: number }>,
): Promise<ChangeResult> {
  const all: number[] = [];
  const fromSend: number[] = [];
  const errors: string[] = [];
  let changes = 0;
  const applyMs: number[] = [];
  let converged = true;
  let worst = `${ids.length} of ${ids.length}`;
  let bytes = 0;
  let messages = 0;
  const hBefore: Histogram | undefined = await convergenceHistogram(cp.metricsPort, 30_000, convergenceMetric);
  const pushSeries = [30_000, PUSH_LATENCY, `type_url="${pushType}"`] as const;
  const pBefore = await convergenceHistogram(cp.metricsPort, ...pushSeries);
  for (let k = 0; k < rounds; k++) {
    await settle([cp.pid], 5_000);
    const c0 = await sim.counters();
    let started: { watchId: number; start: number; applyMs?: number };
    try {
      started = await change(k);
    } catch (err) {
      // An Apply that failed (e.g. its deadline passed on a control plane too busy to answer) ends the phase.
      errors.push((err as Error).message);
      converged = false;
      worst = `change ${k + 1} failed`;
      break;
    }
    const { watchId, start, applyMs: a } = started;
    if (a !== undefined) applyMs.push(a);
    const r: WaitResult = await sim.waitWatch(watchId, ids, TIMEOUT_MS);
    // Negative: the proxy ACKed before Apply returned (an Apply that waits for the push).
    for (const t of r.times.values()) {
      all.push(t - start);
      fromSend.push(t - start + (a ?? 0));
    }
    const stop = r.pending.length > 0;
    if (stop) {
      converged = false;
      worst = `${r.times.size} of ${ids.length}`;
    }
    // Late responses of this change (e.g. a SotW union then the final set) are counted before the next one.
    await settle([cp.pid], 5_000);
    const c1 = await sim.counters();
    bytes += c1.bytes - c0.bytes;
    messages += c1.messages - c0.messages;
    changes++;
    // A change that did not converge within the timeout ends the phase: the next one would not either.
    if (stop) break;
  }
  const hAfter = await convergenceHistogram(cp.metricsPort, 30_000, convergenceMetric);
  const pAfter = await convergenceHistogram(cp.metricsPort, ...pushSeries);
  const perChange = Math.max(1, changes) * Math.max(1, ids.length);
  return {
    converged,
    worst,
    changes,
    ...(errors.length > 0 ? { errors } : {}),
    latency: latencies(all),
    ...(applyMs.length > 0 ? { applyMs: latencies(applyMs), latencyFromApplySent: latencies(fromSend) } : {}),
    bytesPerProxyPerChange: Math.round(bytes / perChange),
    messagesPerProxyPerChange: round(messages / perChange),
    cpConvergence: histogramDelta(hBefore, hAfter),
    cpPushWritten: histogramDelta(pBefore, pAfter),
  };
}

/** Reset causes counted; details without their timestamps, so equal causes count together. */
function resetCodes(resets: readonly { code: number; details: string }[]): Record<string, number> {
  return countBy(resets.map((r) => `${r.code} ${r.details.replace(/ \(\d{4}-[^)]*\)/g, '')}`));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function ms(x: number): string {
  return Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`;
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function describe(r: ChangeResult): string {
  const state = r.converged ? `${r.changes} changes converged` : `not converged: ${r.worst}`;
  return `${state}, p50 ${ms(r.latency.p50)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)}`;
}

function printTable(r: {
  mode: string;
  proxies: number;
  commit: string;
  storm: {
    converged: boolean;
    full: number;
    seconds: number;
    messagesPerProxy: number;
    bytesPerProxy: number;
    cpuSeconds: number;
    simulatorCpuSeconds: number;
    resets: number;
  };
  rss: { zeroProxies: number; nProxies: number; peak: number; perProxy: number; atEnd: number; perProxyAtEnd: number };
  routeChange: ChangeResult;
  endpointJoin: ChangeResult;
  endpointLeave: ChangeResult;
  resets: number;
}): void {
  if (values['json-only']) return;
  const s = r.storm;
  const rows: [string, string][] = [
    ['control plane', `${r.commit} (${CP_ROOT})`],
    ['proxies / mode', `${r.proxies} ${r.mode}, one group per ${values.shapes}`],
    ['all hold a full config', s.converged ? `${s.seconds.toFixed(2)} s` : `not converged: ${s.full} of ${r.proxies}`],
    ['connect storm per proxy', `${s.messagesPerProxy} messages, ${(s.bytesPerProxy / 1024).toFixed(1)} KB`],
    ['control-plane CPU (storm)', `${s.cpuSeconds} s (simulator: ${s.simulatorCpuSeconds} s)`],
    ['streams reset in the storm', String(s.resets)],
    [
      'control-plane RSS',
      `${mb(r.rss.zeroProxies)} → ${mb(r.rss.nProxies)} (peak ${mb(r.rss.peak)}), ${(r.rss.perProxy / 1024).toFixed(1)} KB per proxy`,
    ],
    [
      'control-plane RSS at the end',
      `${mb(r.rss.atEnd)}, ${(r.rss.perProxyAtEnd / 1024).toFixed(1)} KB per proxy (after the changes below)`,
    ],
  ];
  for (const [name, c] of [
    ['route change', r.routeChange],
    ['endpoint join', r.endpointJoin],
    ['endpoint leave', r.endpointLeave],
  ] as const) {
    rows.push([`${name}: all ACKed`, describe(c)]);
    if (c.applyMs && c.latencyFromApplySent) {
      const f = c.latencyFromApplySent;
      rows.push([
        `${name}: Apply latency`,
        `p50 ${ms(c.applyMs.p50)}, p99 ${ms(c.applyMs.p99)}, max ${ms(c.applyMs.max)}`,
      ]);
      rows.push([`${name}: from Apply sent`, `p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)}`]);
    }
    rows.push([
      `${name}: per proxy per change`,
      `${c.messagesPerProxyPerChange} messages, ${c.bytesPerProxyPerChange} bytes`,
    ]);
    const h = c.cpConvergence;
    rows.push([
      `${name}: convergence histogram`,
      `${h.count} observations, mean ${ms(h.mean * 1000)}, p50 ≤ ${ms(h.p50 * 1000)}, p99 ≤ ${ms(h.p99 * 1000)}`,
    ]);
    const w = c.cpPushWritten;
    rows.push([
      `${name}: written (push latency)`,
      `${w.count} responses, mean ${ms(w.mean * 1000)}, p50 ≤ ${ms(w.p50 * 1000)}, p99 ≤ ${ms(w.p99 * 1000)}`,
    ]);
  }
  rows.push(['streams reset by the server (all)', String(r.resets)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

await main();
