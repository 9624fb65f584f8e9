// ClusterHealth: health checks and outlier detection combined per cluster, following config changes, and a passing
// active check un-ejecting an outlier.
import { expect } from 'chai';
import { Stats } from '../../common/stats.ts';
import type { ClusterConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { ClusterHealth, type HostHealthState } from './cluster-health.ts';
import { failed, PASSED, type ProbeResult } from './health-check-state.ts';
import type { ProberFactory } from './prober.ts';
import { fastCheck, loopbackHost } from './test-helpers.ts';

function cluster(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: 'orders|8080',
    discovery: 'eds',
    edsServiceName: 'orders|8080',
    staticEndpoints: [],
    lbPolicy: 'ROUND_ROBIN',
    lbConfig: {},
    connectTimeoutMs: 1000,
    protocol: 'http1',
    circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    metadata: {},
    version: '1',
    ...overrides,
  };
}

/** Probers answering per port from `answers` (PASSED by default). */
function scripted(answers: Map<number, ProbeResult>): ProberFactory {
  return (target) => ({ check: async () => answers.get(target.port) ?? PASSED, close: () => {} });
}

function nextState(health: ClusterHealth, host: Host, want: Partial<HostHealthState>): Promise<HostHealthState> {
  return new Promise((resolve) => {
    const off = health.onChange((h, state) => {
      if (h !== host) return;
      if (Object.entries(want).some(([k, v]) => state[k as keyof HostHealthState] !== v)) return;
      off();
      resolve(state);
    });
  });
}

const OUTLIER = { intervalMs: 60_000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 100, consecutive5xx: 2 };

describe('ClusterHealth', () => {
  let health: ClusterHealth | undefined;
  afterEach(() => health?.close());

  it('is inert without health checks or outlier detection; EDS health still counts', () => {
    health = new ClusterHealth(cluster(), { stats: new Stats() });
    const h = loopbackHost(1);
    health.setHosts([h]);
    expect(health.enabled).to.equal(false);
    expect(health.panicThresholdPercent).to.equal(50);
    health.recordResult(h, { status: 500 });
    expect(health.isHealthy(h)).to.equal(true);
    expect(health.isHealthy(h, false)).to.equal(false);
  });

  it('combines active checks and ejections; a passing check returns an ejected host', async () => {
    const answers = new Map<number, ProbeResult>([[2, failed('active', 'status 503')]]);
    const config = cluster({
      healthChecks: [fastCheck({ kind: 'tcp', receive: [] })],
      outlierDetection: OUTLIER,
      healthyPanicThresholdPercent: 30,
    });
    health = new ClusterHealth(config, { stats: new Stats(), createProber: scripted(answers) });
    const [a, b] = [loopbackHost(1), loopbackHost(2)];
    const bDown = nextState(health, b, { activeHealthy: false });
    health.setHosts([a, b]);
    expect(health.panicThresholdPercent).to.equal(30);
    expect(await bDown).to.deep.equal({ activeHealthy: false, ejected: false });
    expect(health.isHealthy(b)).to.equal(false);
    // a fails real traffic: ejected at once, then its next passing active check brings it back.
    const ejected = nextState(health, a, { ejected: true });
    const back = nextState(health, a, { ejected: false });
    health.recordResult(a, { status: 502 });
    health.recordResult(a, { status: 502 });
    expect(await ejected).to.deep.equal({ activeHealthy: true, ejected: true });
    expect(await back).to.deep.equal({ activeHealthy: true, ejected: false });
    expect(health.isHealthy(a)).to.equal(true);
  });

  it('follows config changes: removing health checks stops them, removing outlier detection forgets ejections', () => {
    const stats = new Stats();
    const answers = new Map<number, ProbeResult>();
    const withBoth = cluster({ healthChecks: [fastCheck({ kind: 'tcp', receive: [] })], outlierDetection: OUTLIER });
    health = new ClusterHealth(withBoth, { stats, createProber: scripted(answers) });
    const h = loopbackHost(1);
    health.setHosts([h]);
    health.recordResult(h, { status: 500 });
    health.recordResult(h, { status: 500 });
    expect(health.state(h)).to.deep.equal({ activeHealthy: true, ejected: true });
    health.update(cluster({ outlierDetection: OUTLIER }));
    expect(stats.snapshot().gauges.map(([n]) => n)).to.deep.equal([
      'cluster.orders|8080.outlier_detection.ejections_active',
    ]);
    expect(health.isHealthy(h)).to.equal(false);
    health.update(cluster());
    expect(health.enabled).to.equal(false);
    expect(health.isHealthy(h)).to.equal(true);
    expect(stats.snapshot().gauges).to.deep.equal([]);
  });
});
