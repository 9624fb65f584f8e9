// The control plane under test: a real trellis-control-plane process of some checkout, pinned to one CPU, with its
// CPU time, RSS and trellis_cp_convergence_seconds histogram read from outside.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cpuMicros } from '../lib/cpu.ts';

export interface ControlPlane {
  pid: number;
  xds: string;
  api: string;
  metricsPort: number;
  stop(): Promise<void>;
}

/** Starts `<root>/control-plane/bin/trellis-control-plane.js` on dataDir (taskset -c cpu when available, node options first). */
export function startControlPlane(
  root: string,
  dataDir: string,
  cpu: string | undefined,
  nodeArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<ControlPlane> {
  const bin = path.join(root, 'control-plane/bin/trellis-control-plane.js');
  const args = [
    ...nodeArgs,
    bin,
    '--data-dir',
    dataDir,
    '--xds-host',
    '127.0.0.1',
    '--xds-port',
    '0',
    // The simulated proxies hold no certificates: they use the plaintext port and announce their endpoints there.
    '--xds-insecure-port',
    '0',
    '--xds-insecure-announce',
    // ...from many made-up addresses (a proxy's own address is checked against its peer IP otherwise).
    '--announced-address',
    'any',
    '--api-port',
    '0',
    '--metrics-port',
    '0',
    '--endpoint-grace',
    '1ms',
    '--log-level',
    'info',
  ];
  const child: ChildProcess =
    cpu === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
      : spawn('taskset', ['-c', cpu, process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, ...env },
        });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a control plane behind, however the benchmark ends (a crash skips its finally blocks).
  const reap = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  void exited.then(() => process.off('exit', reap));
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (line['msg'] !== 'control plane listening') continue;
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.off('exit', onExit);
        resolve({
          pid: child.pid!,
          xds: `127.0.0.1:${line['xdsInsecurePort'] as number}`,
          api: `127.0.0.1:${line['apiPort'] as number}`,
          metricsPort: line['metricsPort'] as number,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            // A profile is written at exit: give the process time to get there.
            const timer = setTimeout(() => child.kill('SIGKILL'), nodeArgs.length > 0 ? 120_000 : 5000);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`control plane exited (${code}) before listening`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A /proc/<pid>/status field in bytes (VmRSS, VmHWM). */
export function procBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export { cpuMicros };

/** Gauges summed over their series from /metrics; NaN each when the control plane does not answer in timeoutMs. */
export async function gauges(metricsPort: number, names: readonly string[], timeoutMs = 5000): Promise<number[]> {
  let text: string;
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch {
    return names.map(() => Number.NaN);
  }
  const sums = names.map(() => 0);
  for (const line of text.split('\n')) {
    const i = names.findIndex((n) => line.startsWith(`${n} `) || line.startsWith(`${n}{`));
    if (i >= 0) sums[i]! += Number(/ (\S+)$/.exec(line)?.[1] ?? Number.NaN);
  }
  return sums;
}

/** The convergence histogram: cumulative bucket counts by upper bound, count and sum. */
export interface Histogram {
  buckets: [number, number][];
  count: number;
  sum: number;
}

/**
 * A histogram from /metrics (trellis_cp_convergence_seconds by default; `labels` picks one series, e.g.
 * `type_url="…"`); undefined when the control plane does not answer within timeoutMs.
 */
export async function convergenceHistogram(
  metricsPort: number,
  timeoutMs = 30_000,
  metric = 'trellis_cp_convergence_seconds',
  labels = '',
): Promise<Histogram | undefined> {
  let text: string;
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch {
    return undefined;
  }
  const h: Histogram = { buckets: [], count: 0, sum: 0 };
  const series = (line: string, suffix: string): string | undefined => {
    const prefix = `${metric}_${suffix}`;
    if (!line.startsWith(prefix)) return undefined;
    const rest = line.slice(prefix.length);
    if (labels !== '' && !rest.includes(labels)) return undefined;
    return rest;
  };
  for (const line of text.split('\n')) {
    const b = series(line, 'bucket');
    const le = b === undefined ? null : /le="([^"]+)".*\} (\S+)/.exec(b);
    if (le) h.buckets.push([le[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(le[1]), Number(le[2])]);
    const c = series(line, 'count');
    if (c !== undefined) h.count += Number(/ (\S+)$/.exec(c)?.[1] ?? 0);
    const s = series(line, 'sum');
    if (s !== undefined) h.sum += Number(/ (\S+)$/.exec(s)?.[1] ?? 0);
  }
  return h;
}

/** The observations between two scrapes: count, mean and bucket upper bounds of p50/p99 (seconds). */
export function histogramDelta(
  before: Histogram | undefined,
  after: Histogram | undefined,
): { count: number; mean: number; p50: number; p99: number } {
  if (!before || !after) return { count: Number.NaN, mean: Number.NaN, p50: Number.NaN, p99: Number.NaN };
  const count = after.count - before.count;
  const mean = count > 0 ? (after.sum - before.sum) / count : Number.NaN;
  const q = (p: number): number => {
    for (const [le, n] of after.buckets) {
      const prev = before.buckets.find(([l]) => l === le)?.[1] ?? 0;
      if (n - prev >= p * count) return le;
    }
    return Number.NaN;
  };
  return { count, mean, p50: count > 0 ? q(0.5) : Number.NaN, p99: count > 0 ? q(0.99) : Number.NaN };
}
