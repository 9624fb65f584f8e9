// Clusters with health checks, outlier detection and the panic threshold against real HTTP servers on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { clustersJson, clustersText } from '../admin/clusters-page.ts';
import { Stats } from '../common/stats.ts';
import type { ClusterConfig, HealthCheckConfig, OutlierDetectionConfig } from '../config/model.ts';
import { ClusterManager } from './cluster-manager.ts';
import { edsCluster, loadAssignment, sidecarConfig, tally } from './fixtures.ts';
import { fastCheck } from './health/test-helpers.ts';
import type { UpstreamHost } from './host/upstream-host.ts';
import type { UpstreamCluster } from './upstream-cluster.ts';

/** An HTTP server answering GET /healthz with 200, or 503 while `failing`. */
interface HealthServer {
  port: number;
  failing: boolean;
  close(): void;
}

async function healthServer(): Promise<HealthServer> {
  const state = { failing: false };
  const server = http.createServer((_req, res) => {
    res.writeHead(state.failing ? 503 : 200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
}

const HTTP_CHECK: HealthCheckConfig = fastCheck({
  kind: 'http',
  path: '/healthz',
  method: 'GET',
  codec: 'http1',
  expectedStatuses: [{ start: 200, end: 201 }],
  retriableStatuses: [],
  receive: [],
  responseBufferSize: 1024,
  requestHeaders: [],
  requestHeadersToRemove: [],
});

/** Resolves once `host` is (or becomes) healthy === `healthy` through a health-check or outlier change. */
function becomes(cluster: UpstreamCluster, host: UpstreamHost, healthy: boolean): Promise<void> {
  if (host.healthy === healthy) return Promise.resolve();
  return new Promise((resolve) => {
    const off = cluster.health.onChange((h) => {
      if (h !== host || host.healthy !== healthy) return;
      off();
      resolve();
    });
  });
}

/** Keys of the hosts 300 picks reach. */
function picked(cluster: UpstreamCluster): string[] {
  return [...tally(300, () => cluster.pick({})?.key).keys()].map(String).sort();
}

describe('UpstreamCluster health', () => {
  const servers: HealthServer[] = [];
  let cm: ClusterManager;
  let stats: Stats;

  /** Three real servers behind cluster `web` built from `overrides`; the cluster counts as having had traffic. */
  async function start(overrides: Partial<ClusterConfig>): Promise<{ c: UpstreamCluster; hosts: UpstreamHost[] }> {
    for (let i = 0; i < 3; i++) servers.push(await healthServer());
    stats = new Stats();
    cm = new ClusterManager({ stats });
    cm.update(config(overrides));
    const c = cm.get('web')!;
    // As the HTTP path does on its first request: health checks leave the no-traffic interval.
    c.stats.upstreamRequests++;
    const hosts = servers.map((s) => c.hosts().find((h) => h.port === s.port) as UpstreamHost);
    return { c, hosts };
  }

  function config(overrides: Partial<ClusterConfig>) {
    return sidecarConfig({
      clusters: [edsCluster('web', overrides)],
      endpoints: [loadAssignment('web', ...servers.map((s) => `127.0.0.1:${s.port}`))],
    });
  }

  afterEach(() => {
    cm?.update(sidecarConfig({}));
    for (const s of servers.splice(0)) s.close();
  });

  it('a failing HTTP health check takes one of three hosts out of the picks; it returns after recovery', async () => {
    const { c, hosts } = await start({ healthChecks: [HTTP_CHECK] });
    const [a, b, victim] = hosts as [UpstreamHost, UpstreamHost, UpstreamHost];
    expect(picked(c)).to.deep.equal([a.key, b.key, victim.key].sort());
    (servers[2] as HealthServer).failing = true;
    await becomes(c, victim, false);
    expect(victim.healthFlags()).to.deep.equal(['failed_active_hc']);
    expect(picked(c)).to.deep.equal([a.key, b.key].sort());
    expect(c.priorityPanic().get(0)).to.equal(false);
    expect(clustersText([c])).to.include(`web::${victim.key}::health_flags::/failed_active_hc`);
    expect(stats.counter('cluster.web.health_check.unhealthy_edge')).to.equal(1);
    (servers[2] as HealthServer).failing = false;
    await becomes(c, victim, true);
    expect(picked(c)).to.include(victim.key);
    expect(clustersText([c])).to.include(`web::${victim.key}::health_flags::healthy`);
  });

  it('health checks removed from the config clear their verdicts; a removed cluster stops checking', async () => {
    const { c, hosts } = await start({ healthChecks: [HTTP_CHECK] });
    const victim = hosts[0] as UpstreamHost;
    (servers[0] as HealthServer).failing = true;
    await becomes(c, victim, false);
    cm.update(config({}));
    expect(victim.healthy).to.equal(true);
    expect(picked(c)).to.include(victim.key);
    cm.update(config({ healthChecks: [HTTP_CHECK] }));
    await becomes(c, victim, false);
    expect(stats.snapshot().gauges.map(([n]) => n)).to.include('cluster.web.health_check.healthy');
    cm.update(sidecarConfig({}));
    expect(stats.snapshot().gauges.map(([n]) => n)).to.not.include('cluster.web.health_check.healthy');
  });

  it('consecutive 5xx results eject a host (picks avoid it, /clusters flags it) until the ejection time is over', async () => {
    const od: OutlierDetectionConfig = {
      intervalMs: 20,
      baseEjectionTimeMs: 120,
      maxEjectionPercent: 50,
      consecutive5xx: 3,
    };
    const { c, hosts } = await start({ outlierDetection: od });
    const victim = hosts[1] as UpstreamHost;
    c.recordResult(victim, { status: 503 });
    c.recordResult(victim, { status: 200 }); // a success resets the streak
    for (let i = 0; i < 3; i++) {
      expect(victim.healthy).to.equal(true);
      c.recordResult(victim, { status: 503 });
    }
    expect(victim.healthy).to.equal(false);
    const ejectedAt = performance.now();
    expect(picked(c)).to.not.include(victim.key);
    expect(clustersText([c])).to.include(`web::${victim.key}::health_flags::/failed_outlier_check`);
    const json = clustersJson([c]) as { cluster_statuses: { host_statuses: { health_status: unknown }[] }[] };
    expect(json.cluster_statuses[0]?.host_statuses[1]?.health_status).to.deep.equal({
      eds_health_status: 'HEALTHY',
      failed_outlier_check: true,
    });
    expect(stats.counter('cluster.web.outlier_detection.ejections_enforced_consecutive_5xx')).to.equal(1);
    await becomes(c, victim, true);
    expect(performance.now() - ejectedAt).to.be.at.least(100);
    expect(picked(c)).to.include(victim.key);
  });

  it('panic: with 2 of 3 hosts failing checks (below the 50% threshold) picks spread over all three', async () => {
    const { c, hosts } = await start({ healthChecks: [HTTP_CHECK] });
    (servers[0] as HealthServer).failing = true;
    (servers[1] as HealthServer).failing = true;
    await Promise.all([becomes(c, hosts[0] as UpstreamHost, false), becomes(c, hosts[1] as UpstreamHost, false)]);
    expect(c.priorityPanic().get(0)).to.equal(true);
    const seen = tally(3000, () => c.pick({})?.key);
    expect([...seen.keys()].map(String).sort()).to.deep.equal(hosts.map((h) => h.key).sort());
    for (const n of seen.values()) expect(n / 3000).to.be.closeTo(1 / 3, 0.05);
    // A threshold of 0 turns panic off: only the healthy host is left.
    cm.update(config({ healthChecks: [HTTP_CHECK], healthyPanicThresholdPercent: 0 }));
    expect(c.priorityPanic().get(0)).to.equal(false);
    expect(picked(c)).to.deep.equal([(hosts[2] as UpstreamHost).key]);
  });
});
