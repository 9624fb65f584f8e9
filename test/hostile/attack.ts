// Runs one attack beside a legitimate load and checks the invariants every hostile test shares: the processes stay
// up, legitimate requests succeed with bounded latency, the sidecar's RSS stays bounded, in-flight gauges return to 0.
import { expect } from 'chai';
import { readStats, waitForQuiet } from './admin-stats.ts';
import { recordFigure } from './figures.ts';
import type { HostileMesh, ManagedSidecar } from './hostile-mesh.ts';
import { type LegitLoad, startLoad } from './legit-load.ts';
import type { LoadConfig, LoadResult } from './load-worker.ts';
import { rssMb, sampleRss } from './rss.ts';

/** Generous bounds: a loaded 2-core CI machine runs the attacker, the load and three servers at once. */
export const LIMITS = {
  p99Ms: 1_500,
  rssGrowthMb: 150,
  quietMs: 10_000,
  /** Idle keep-alive upstream connections a cluster may keep after an attack (closed after the pool's idle timeout). */
  idleUpstreamConnections: 32,
};

export interface AttackOptions {
  /** The row name in the figures table. */
  name: string;
  /** The sidecar under attack: RSS sampled, gauges checked. */
  target: ManagedSidecar;
  /** Where the legitimate load goes (default: the target's outbound listener) and how. */
  load?: Partial<LoadConfig>;
  p99Ms?: number;
  rssGrowthMb?: number;
  quietMs?: number;
  idleUpstreamConnections?: number;
  /** Whose RSS is sampled and bounded (default: the target sidecar's). */
  rssOf?: { pid: number; name: string };
  /** What the attack did (counts, replies), appended to failure messages. */
  detail?: () => string;
}

export interface AttackOutcome {
  load: LoadResult;
  rssBeforeMb: number;
  rssPeakMb: number;
}

/** Asserts the mesh's processes are alive, naming the one that died with its exit and stderr (stack trace). */
export function expectAlive(mesh: HostileMesh): void {
  for (const s of [mesh.client, mesh.webSidecar, ...mesh.extra]) expect(s.death(), s.death()).to.equal(undefined);
  const cp = mesh.cp.daemon.child;
  expect(cp.exitCode, `control plane died; stderr:\n${mesh.cpStderr()}`).to.equal(null);
  expect(cp.signalCode, `control plane killed; stderr:\n${mesh.cpStderr()}`).to.equal(null);
}

/**
 * Starts the legitimate load, runs `attack` (which must bound its own count and time), stops the load, then asserts
 * the shared invariants. Returns the measurements for attack-specific assertions.
 */
export async function underAttack(
  mesh: HostileMesh,
  opts: AttackOptions,
  attack: () => Promise<void>,
): Promise<AttackOutcome> {
  const target = opts.target;
  expect(target.death(), 'the target must be up before the attack').to.equal(undefined);
  // Connections open before the attack (another sidecar's pooled keep-alive connections into this one) may stay.
  const before = await readStats(target.adminPort);
  const rssOf = opts.rssOf ?? { pid: target.pid, name: `${target.service} sidecar` };
  const rssBeforeMb = rssMb(rssOf.pid);
  let load: LegitLoad | undefined;
  const sampler = sampleRss(rssOf.pid);
  let result: LoadResult | undefined;
  let rssPeakMb = rssBeforeMb;
  try {
    load = await startLoad({ port: target.outboundPort, ...opts.load });
    await attack();
    result = await load.stop();
  } finally {
    load?.kill();
    rssPeakMb = sampler.stop();
  }
  recordFigure({
    attack: opts.name,
    sent: result.sent,
    ok: result.ok,
    p50Ms: result.p50,
    p99Ms: result.p99,
    rssOf: rssOf.name,
    rssBeforeMb,
    rssPeakMb,
  });
  const detail = opts.detail ? `; attack: ${opts.detail()}` : '';
  expectAlive(mesh);
  expect(result.sent, 'the legitimate load ran').to.be.greaterThan(0);
  expect(
    result.failed,
    `legitimate requests failed during "${opts.name}": ${JSON.stringify(result)}${detail}`,
  ).to.equal(0);
  expect(result.p99, `legitimate p99 during "${opts.name}": ${JSON.stringify(result)}${detail}`).to.be.at.most(
    opts.p99Ms ?? LIMITS.p99Ms,
  );
  expect(
    rssPeakMb - rssBeforeMb,
    `${rssOf.name} RSS ${rssBeforeMb.toFixed(0)} → ${rssPeakMb.toFixed(0)} MiB during "${opts.name}"${detail}`,
  ).to.be.at.most(opts.rssGrowthMb ?? LIMITS.rssGrowthMb);
  try {
    const idleUpstream = opts.idleUpstreamConnections ?? LIMITS.idleUpstreamConnections;
    await waitForQuiet(target.adminPort, opts.quietMs ?? LIMITS.quietMs, (name) => {
      if (name.endsWith('.upstream_cx_active')) return Math.max(idleUpstream, before.get(name) ?? 0);
      if (name.endsWith('.downstream_cx_active')) return before.get(name) ?? 0;
      return 0;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}${detail}`);
  }
  return { load: result, rssBeforeMb, rssPeakMb };
}

/** Runs `count` tasks, `parallel` at a time. */
export async function inBatches<T>(count: number, parallel: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return out;
}

/**
 * Repeats `task` in `parallel` lanes until `ms` have passed and at least `minCount` ran, never more than `maxCount`
 * times: an attack that lasts long enough for the legitimate load to run beside it, bounded in count and time.
 */
export async function repeatFor(
  ms: number,
  bounds: { parallel: number; minCount?: number; maxCount: number },
  task: (i: number) => Promise<void>,
): Promise<number> {
  const deadline = Date.now() + ms;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < bounds.maxCount && (Date.now() < deadline || next < (bounds.minCount ?? 0))) await task(next++);
  };
  await Promise.all(Array.from({ length: bounds.parallel }, lane));
  return next;
}
