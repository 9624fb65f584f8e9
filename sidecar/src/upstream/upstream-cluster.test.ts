// UpstreamCluster: priority failover with Envoy's 1.4 overprovisioning, health changes refreshing balancers, zones.
import { expect } from 'chai';
import { Stats } from '../common/stats.ts';
import type { LocalityEndpoints } from '../config/model.ts';
import { ClusterManager } from './cluster-manager.ts';
import { edsCluster, endpoint, sidecarConfig, tally } from './fixtures.ts';
import { failed, PASSED } from './health/health-check-state.ts';
import { fastCheck } from './health/test-helpers.ts';
import type { Host } from './host/host.ts';
import type { UpstreamHost } from './host/upstream-host.ts';
import { setup } from './lb/lb-registry.ts';
import { Rng } from './lb/rng.ts';
import { xxh64 } from './lb/xxhash64.ts';
import { UpstreamCluster } from './upstream-cluster.ts';

/** `count` healthy endpoints 10.<priority>.<zone index>.i:80 in one locality. */
function locality(zone: string, priority: number, count: number): LocalityEndpoints {
  const z = zone.charCodeAt(0) - 96;
  return {
    zone,
    region: '',
    priority,
    weight: 1,
    endpoints: Array.from({ length: count }, (_, i) => endpoint(`10.${priority}.${z}.${i + 1}:80`)),
  };
}

function cluster(localities: LocalityEndpoints[], policy = 'ROUND_ROBIN', localZone = ''): UpstreamCluster {
  const c = new UpstreamCluster(edsCluster('c', { lbPolicy: policy as 'ROUND_ROBIN' }), {
    registry: setup(),
    stats: new Stats(),
    localZone,
    rng: new Rng(42),
  });
  c.setEndpoints(localities);
  return c;
}

const byPriority = (c: UpstreamCluster, n: number): Map<number, number> => {
  const out = new Map<number, number>();
  for (const [h, k] of tally(n, () => c.pick({}))) out.set(h!.priority, (out.get(h!.priority) ?? 0) + k);
  return new Map([...out].map(([p, k]) => [p, k / n]));
};

describe('UpstreamCluster priorities', () => {
  it('keeps all traffic on P0 while healthy(P0) × 1.4 ≥ 100%', () => {
    const c = cluster([locality('a', 0, 10), locality('b', 1, 10)]);
    const hosts = c.hosts().filter((h) => h.priority === 0);
    for (const h of hosts.slice(0, 2)) h.healthy = false; // 80% × 1.4 = 112%
    expect(Object.fromEntries(c.priorityLoads())).to.deep.equal({ 0: 100, 1: 0 });
    expect(byPriority(c, 1000).get(1)).to.equal(undefined);
  });

  it('spills to P1 in proportion once healthy(P0) × 1.4 < 100% (50% healthy → 70% / 30%)', () => {
    const c = cluster([locality('a', 0, 10), locality('b', 1, 10)]);
    for (const h of c.hosts().slice(0, 5)) h.healthy = false;
    expect(Object.fromEntries(c.priorityLoads())).to.deep.equal({ 0: 70, 1: 30 });
    const shares = byPriority(c, 20000);
    expect(shares.get(0)).to.be.closeTo(0.7, 0.02);
    expect(shares.get(1)).to.be.closeTo(0.3, 0.02);
    // P0 entirely down: all of it to P1.
    for (const h of c.hosts().filter((x) => x.priority === 0)) h.healthy = false;
    expect(byPriority(c, 100).get(1)).to.equal(1);
  });

  it('everything down: total panic spreads picks over every host; with panic off there is no host, counted', () => {
    const c = cluster([locality('a', 0, 2), locality('b', 1, 2)]);
    for (const h of c.hosts()) h.healthy = false;
    expect(Object.fromEntries(c.priorityPanic())).to.deep.equal({ 0: true, 1: true });
    expect([...tally(200, () => c.pick({})!.key).keys()].sort()).to.deep.equal(c.hosts().map((h) => h.key));
    c.updateConfig({ ...c.config, healthyPanicThresholdPercent: 0 });
    expect(c.pick({})).to.equal(undefined);
    expect(c.stats.noHealthyHost).to.equal(1);
  });

  it('a request hash keeps its priority level (and host) while the plan is unchanged', () => {
    const c = cluster([locality('a', 0, 4), locality('b', 1, 4)], 'RING_HASH');
    for (const h of c.hosts().slice(0, 2)) h.healthy = false; // 70% / 30%
    for (let i = 0; i < 200; i++) {
      const hash = xxh64(`user-${i}`);
      const first = c.pick({ hash });
      for (let k = 0; k < 3; k++) expect(c.pick({ hash })).to.equal(first);
    }
    const levels = tally(2000, (i) => c.pick({ hash: xxh64(`k${i}`) })!.priority);
    expect(levels.get(1)! / 2000).to.be.closeTo(0.3, 0.04);
  });

  it('skips an avoided host of the drawn level for a host of another level', () => {
    const c = cluster([locality('a', 0, 1), locality('b', 1, 1)]);
    const [p0, p1] = c.hosts() as [Host, Host];
    expect(c.pick({})).to.equal(p0);
    expect(c.pick({ avoid: new Set([p0]) })).to.equal(p1);
    expect(c.pick({ avoid: new Set([p0, p1]) })).to.equal(p0);
  });
});

describe('UpstreamCluster health changes', () => {
  it('rebuilds hash rings when a host is flagged by health checks or outlier detection, and again when it returns', () => {
    const c = cluster([locality('a', 0, 4)], 'RING_HASH');
    const keys = Array.from({ length: 400 }, (_, i) => xxh64(`key-${i}`));
    const before = keys.map((hash) => c.pick({ hash }));
    const victim = before[0] as UpstreamHost;
    victim.setHealthFlag('failed_outlier_check', true);
    expect(victim.healthy).to.equal(false);
    expect(victim.healthFlags()).to.deep.equal(['failed_outlier_check']);
    const during = keys.map((hash) => c.pick({ hash }));
    expect(during).to.not.include(victim);
    // Only the victim's keys moved (the ring is rebuilt from 3 hosts, Envoy-style, so a few more at most).
    const moved = during.filter((h, i) => h !== before[i]).length;
    const onVictim = before.filter((h) => h === victim).length;
    expect(moved)
      .to.be.at.least(onVictim)
      .and.at.most(onVictim + 0.15 * keys.length);
    victim.setHealthFlag('failed_outlier_check', false);
    expect(keys.map((hash) => c.pick({ hash }))).to.deep.equal(before);
  });

  it('an EDS update keeps health-check verdicts; EDS health and flags combine', async () => {
    // A scripted active check: 10.0.0.1 fails until `down` is cleared; one failure takes it out.
    let down = true;
    const c = new UpstreamCluster(
      edsCluster('o', {
        healthChecks: [fastCheck({ kind: 'tcp', receive: [] }, { unhealthyThreshold: 1, noTrafficIntervalMs: 15 })],
      }),
      {
        registry: setup(),
        stats: new Stats(),
        health: {
          createProber: (target) => ({
            check: async () => (down && target.address === '10.0.0.1' ? failed('active', 'down') : PASSED),
            close: () => {},
          }),
        },
      },
    );
    try {
      const cla = (health: 'healthy' | 'unhealthy'): LocalityEndpoints[] => [
        {
          zone: 'a',
          region: '',
          priority: 0,
          weight: 1,
          endpoints: [{ ...endpoint('10.0.0.1:80'), health }, endpoint('10.0.0.2:80')],
        },
      ];
      const flagged = nextFlags(c, '10.0.0.1:80', ['failed_active_hc']);
      c.setEndpoints(cla('healthy'));
      const h = await flagged;
      c.setEndpoints(cla('unhealthy'));
      expect(h.healthFlags()).to.deep.equal(['failed_active_hc', 'failed_eds_health']);
      c.setEndpoints(cla('healthy'));
      expect(h.healthy).to.equal(false);
      expect(h.healthFlags()).to.deep.equal(['failed_active_hc']);
      const back = nextFlags(c, '10.0.0.1:80', []);
      down = false;
      await back;
      expect(h.healthy).to.equal(true);
      expect(new Set(Array.from({ length: 4 }, () => c.pick({})))).to.include(h);
    } finally {
      c.close();
    }
  });
});

/** Resolves with the host once its health flags (after a health-check or outlier change) equal `want`. */
function nextFlags(c: UpstreamCluster, key: string, want: string[]): Promise<UpstreamHost> {
  return new Promise((resolve) => {
    const off = c.health.onChange((host) => {
      const own = c.hosts().find((h) => h.key === key) as UpstreamHost | undefined;
      if (own === undefined || own !== host || JSON.stringify(own.healthFlags()) !== JSON.stringify(want)) return;
      off();
      resolve(own);
    });
  });
}

describe('UpstreamCluster zones', () => {
  it('ClusterManager localZone keeps picks in the sidecar’s zone; setLocalZone changes it for every cluster', () => {
    const cm = new ClusterManager({ localZone: 'b' });
    cm.update(
      sidecarConfig({
        clusters: [
          edsCluster('c', { discovery: 'static', staticEndpoints: [locality('a', 0, 3), locality('b', 0, 2)] }),
        ],
      }),
    );
    const c = cm.get('c')!;
    const zones = () => new Set(Array.from({ length: 50 }, () => c.pick({})!.zone));
    expect(zones()).to.deep.equal(new Set(['b']));
    cm.setLocalZone('a');
    expect(zones()).to.deep.equal(new Set(['a']));
    cm.setLocalZone('');
    expect(zones()).to.deep.equal(new Set(['a', 'b']));
  });

  it('spills over when the local zone is short of healthy hosts, re-planned on health changes', () => {
    const c = cluster([locality('a', 0, 4), locality('b', 0, 4)], 'LEAST_REQUEST', 'a');
    const local = c.hosts().filter((h) => h.zone === 'a');
    local[0]!.healthy = false;
    local[1]!.healthy = false; // a: 50%, cluster 75% → 2/3 local
    const seen = tally(6000, () => c.pick({})!.zone);
    expect(seen.get('a')! / 6000).to.be.closeTo(2 / 3, 0.03);
    local[0]!.healthy = true;
    local[1]!.healthy = true;
    expect(tally(100, () => c.pick({})!.zone).get('a')).to.equal(100);
  });

  it('does not split consistent-hash policies by zone (a key maps to the same host from any zone)', () => {
    const localities = [locality('a', 0, 3), locality('b', 0, 3)];
    for (const policy of ['RING_HASH', 'MAGLEV']) {
      const fromA = cluster(localities, policy, 'a');
      const fromB = cluster(localities, policy, 'b');
      const zones = new Set<string>();
      for (let i = 0; i < 100; i++) {
        const hash = xxh64(`session-${i}`);
        const h = fromA.pick({ hash })!;
        zones.add(h.zone);
        expect(fromB.pick({ hash })?.key).to.equal(h.key);
      }
      expect(zones.size).to.equal(2);
    }
  });
});
