// ClusterManager: clusters from CDS + EDS, hosts kept across endpoint changes, removals announced, breakers, stats.
import { expect } from 'chai';
import { Stats } from '../common/stats.ts';
import { ClusterManager } from './cluster-manager.ts';
import { edsCluster, endpoint, loadAssignment, sidecarConfig } from './fixtures.ts';
import type { Host } from './host/host.ts';
import { LbRegistry } from './lb/lb-registry.ts';
import { setup as setupRoundRobin } from './lb/round-robin.ts';

describe('ClusterManager', () => {
  it('builds EDS clusters from their load assignment and static clusters from their endpoints', () => {
    const cm = new ClusterManager();
    cm.update(
      sidecarConfig({
        clusters: [
          edsCluster('orders|8080', { edsServiceName: 'orders-eds' }),
          edsCluster('db', {
            discovery: 'static',
            edsServiceName: '',
            staticEndpoints: [
              { zone: 'a', region: '', priority: 0, weight: 1, endpoints: [endpoint('127.0.0.1:5432')] },
            ],
          }),
        ],
        endpoints: [loadAssignment('orders-eds', '10.0.0.1:8080', '10.0.0.2:8080*3')],
      }),
    );
    expect(cm.list().map((c) => c.name)).to.deep.equal(['db', 'orders|8080']);
    expect(
      cm
        .get('orders|8080')
        ?.hosts()
        .map((h) => [h.key, h.weight]),
    ).to.deep.equal([
      ['10.0.0.1:8080', 1],
      ['10.0.0.2:8080', 3],
    ]);
    expect(cm.get('db')?.hosts()[0]).to.include({ key: '127.0.0.1:5432', zone: 'a' });
    expect(cm.get('nope')).to.equal(undefined);
  });

  it('an EDS cluster without its assignment yet has no hosts, and picks count no_healthy', () => {
    const stats = new Stats();
    const cm = new ClusterManager({ stats });
    cm.update(sidecarConfig({ clusters: [edsCluster('orders')] }));
    const c = cm.get('orders')!;
    expect(c.hosts()).to.deep.equal([]);
    expect(c.pick({})).to.equal(undefined);
    expect(c.stats.noHealthyHost).to.equal(1);
    expect(stats.counter('cluster.orders.upstream_cx_none_healthy')).to.equal(1);
  });

  it('keeps the Host object (and its stats) of endpoints that remain; announces the ones that left', () => {
    const cm = new ClusterManager();
    const removed: [string, string[]][] = [];
    cm.onHostsRemoved((cluster, hosts) => removed.push([cluster, hosts.map((h) => h.key)]));
    const cluster = edsCluster('orders');
    cm.update(
      sidecarConfig({ clusters: [cluster], endpoints: [loadAssignment('orders', '10.0.0.1:80', '10.0.0.2:80')] }),
    );
    const c = cm.get('orders')!;
    const kept = c.hosts().find((h) => h.key === '10.0.0.2:80')!;
    kept.stats.activeRequests = 2;
    kept.stats.totalRequests = 7;

    cm.update(
      sidecarConfig({
        clusters: [cluster],
        endpoints: [loadAssignment('orders', '10.0.0.2:80*4', '10.0.0.3:80')],
      }),
    );
    expect(cm.get('orders')).to.equal(c);
    const after = c.hosts();
    expect(after.map((h) => h.key)).to.deep.equal(['10.0.0.2:80', '10.0.0.3:80']);
    expect(after[0]).to.equal(kept);
    expect(kept.weight).to.equal(4);
    expect(kept.stats).to.include({ activeRequests: 2, totalRequests: 7 });
    expect(removed).to.deep.equal([['orders', ['10.0.0.1:80']]]);
  });

  it('follows EDS health: unhealthy and draining hosts take no traffic, unknown does', () => {
    const cm = new ClusterManager();
    const cla = loadAssignment('orders', '10.0.0.1:80', '!10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80');
    const locality = cla.localities[0]!;
    locality.endpoints[2]!.health = 'draining';
    locality.endpoints[3]!.health = 'unknown';
    cm.update(sidecarConfig({ clusters: [edsCluster('orders')], endpoints: [cla] }));
    const c = cm.get('orders')!;
    const picked = new Set(Array.from({ length: 10 }, () => c.pick({})?.key));
    expect([...picked].sort()).to.deep.equal(['10.0.0.1:80', '10.0.0.4:80']);
    expect(c.healthyCount()).to.equal(2);
  });

  it('balances by endpoint weight and keeps the rotation across an update that keeps the hosts', () => {
    const cm = new ClusterManager();
    const cluster = edsCluster('orders');
    cm.update(
      sidecarConfig({ clusters: [cluster], endpoints: [loadAssignment('orders', '10.0.0.1:80*3', '10.0.0.2:80')] }),
    );
    const c = cm.get('orders')!;
    const tally = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const key = c.pick({})!.key;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      // Endpoint list rebuilt (same content, new objects) in the middle of the cycle.
      if (i === 201) {
        cm.update(
          sidecarConfig({ clusters: [cluster], endpoints: [loadAssignment('orders', '10.0.0.1:80*3', '10.0.0.2:80')] }),
        );
      }
    }
    expect(Object.fromEntries(tally)).to.deep.equal({ '10.0.0.1:80': 300, '10.0.0.2:80': 100 });
  });

  it('prefers the lowest priority with a healthy host, failing over to the next', () => {
    const cm = new ClusterManager();
    cm.update(
      sidecarConfig({
        clusters: [
          edsCluster('c', {
            discovery: 'static',
            staticEndpoints: [
              { zone: 'b', region: '', priority: 1, weight: 1, endpoints: [endpoint('10.0.1.1:80')] },
              { zone: 'a', region: '', priority: 0, weight: 1, endpoints: [endpoint('10.0.0.1:80')] },
            ],
          }),
        ],
      }),
    );
    const c = cm.get('c')!;
    expect(c.pick({})?.key).to.equal('10.0.0.1:80');
    (c.hosts().find((h) => h.key === '10.0.0.1:80') as Host).healthy = false;
    expect(c.pick({})?.key).to.equal('10.0.1.1:80');
  });

  it('removes clusters that left the config and announces all their hosts', () => {
    const stats = new Stats();
    const cm = new ClusterManager({ stats });
    const removed: string[] = [];
    cm.onHostsRemoved((cluster, hosts) => removed.push(`${cluster}:${hosts.length}`));
    cm.update(
      sidecarConfig({
        clusters: [edsCluster('a'), edsCluster('b')],
        endpoints: [loadAssignment('a', '10.0.0.1:80'), loadAssignment('b', '10.0.0.2:80', '10.0.0.3:80')],
      }),
    );
    expect(stats.snapshot().gauges.map(([n]) => n)).to.include('cluster.b.membership_total');
    cm.update(sidecarConfig({ clusters: [edsCluster('a')], endpoints: [loadAssignment('a', '10.0.0.1:80')] }));
    expect(cm.list().map((c) => c.name)).to.deep.equal(['a']);
    expect(removed).to.deep.equal(['b:2']);
    expect(stats.snapshot().gauges.map(([n]) => n)).to.not.include('cluster.b.membership_total');
  });

  it('circuit breaker: max_requests (Envoy default 1024) refuses the overflow and counts it', () => {
    const stats = new Stats();
    const cm = new ClusterManager({ stats });
    cm.update(
      sidecarConfig({
        clusters: [
          edsCluster('small', {
            circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 2, maxRetries: 0 },
          }),
          edsCluster('big'),
        ],
      }),
    );
    const small = cm.get('small')!;
    expect(small.tryAcquireRequest()).to.equal(true);
    expect(small.tryAcquireRequest()).to.equal(true);
    expect(small.tryAcquireRequest()).to.equal(false);
    expect(small.stats.overflow).to.equal(1);
    expect(stats.counter('cluster.small.upstream_rq_pending_overflow')).to.equal(1);
    expect(stats.snapshot().gauges).to.deep.include(['cluster.small.circuit_breakers.default.rq_open', 1]);
    small.releaseRequest();
    expect(small.tryAcquireRequest()).to.equal(true);
    expect(small.tryAcquireConnection()).to.equal(true);
    expect(small.tryAcquireConnection()).to.equal(false);
    small.releaseConnection();
    expect(small.tryAcquireConnection()).to.equal(true);
    expect(small.tryAcquireRetry()).to.equal(false);

    const big = cm.get('big')!;
    let granted = 0;
    while (big.tryAcquireRequest()) granted++;
    expect(granted).to.equal(1024);
  });

  it('rebuilds the balancer when the policy changes, keeping hosts (policy missing from the registry → round robin)', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o) } as unknown as import('pino').Logger;
    const lbRegistry = new LbRegistry();
    setupRoundRobin(lbRegistry);
    const cm = new ClusterManager({ logger, lbRegistry });
    const cla = loadAssignment('orders', '10.0.0.1:80', '10.0.0.2:80');
    cm.update(sidecarConfig({ clusters: [edsCluster('orders')], endpoints: [cla] }));
    const before = cm.get('orders')!.hosts();
    cm.update(
      sidecarConfig({
        clusters: [edsCluster('orders', { lbPolicy: 'LEAST_REQUEST', version: '2' })],
        endpoints: [cla],
      }),
    );
    expect(cm.get('orders')!.hosts()).to.deep.equal(before);
    expect(cm.get('orders')!.config.lbPolicy).to.equal('LEAST_REQUEST');
    expect(warnings).to.have.length(1);
    const picked = new Set(Array.from({ length: 4 }, () => cm.get('orders')!.pick({})?.key));
    expect(picked.size).to.equal(2);
  });
});
