// OutlierDetector: Host-keyed ejections with a real interval timer, listeners and Envoy-named stats.
import { expect } from 'chai';
import { Stats } from '../../common/stats.ts';
import { type Host, newHostStats } from '../host/host.ts';
import { OutlierDetector } from './outlier-detector.ts';

function host(port: number): Host {
  return {
    key: `10.0.0.1:${port}`,
    address: '10.0.0.1',
    port,
    weight: 1,
    zone: '',
    priority: 0,
    healthy: true,
    stats: newHostStats(),
  };
}

/** Resolves with the next change the detector reports for `target`. */
function nextChange(detector: OutlierDetector, target: Host): Promise<boolean> {
  return new Promise((resolve) => {
    const off = detector.onChange((h, ejected) => {
      if (h !== target) return;
      off();
      resolve(ejected);
    });
  });
}

describe('OutlierDetector', () => {
  let detector: OutlierDetector | undefined;
  afterEach(() => detector?.close());

  it('ejects on consecutive 5xx at once and returns the host after base_ejection_time on the timer', async () => {
    const stats = new Stats();
    const hosts = [host(1), host(2), host(3)];
    const [a] = hosts as [Host];
    detector = new OutlierDetector(
      'orders',
      { intervalMs: 10, baseEjectionTimeMs: 40, maxEjectionPercent: 50, consecutive5xx: 3 },
      { stats },
    );
    detector.setHosts(hosts);
    const changes: boolean[] = [];
    detector.onChange((h, ejected) => {
      if (h === a) changes.push(ejected);
    });
    for (let i = 0; i < 3; i++) detector.recordResult(a, { status: 503 });
    expect(detector.isEjected(a)).to.equal(true);
    expect(changes).to.deep.equal([true]);
    const p = 'cluster.orders.outlier_detection.';
    expect(stats.counter(`${p}ejections_enforced_total`)).to.equal(1);
    expect(stats.counter(`${p}ejections_enforced_consecutive_5xx`)).to.equal(1);
    expect(stats.counter(`${p}ejections_detected_consecutive_5xx`)).to.equal(1);
    const gauge = () => stats.snapshot().gauges.find(([n]) => n === `${p}ejections_active`)?.[1];
    expect(gauge()).to.equal(1);
    const started = performance.now();
    expect(await nextChange(detector, a)).to.equal(false);
    expect(performance.now() - started).to.be.at.least(30);
    expect(detector.isEjected(a)).to.equal(false);
    expect(gauge()).to.equal(0);
  });

  it('counts overflow when max_ejection_percent forbids another ejection', () => {
    const stats = new Stats();
    const hosts = [host(1), host(2), host(3), host(4)];
    detector = new OutlierDetector(
      'c',
      { intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionPercent: 25, consecutive5xx: 1 },
      { stats },
    );
    detector.setHosts(hosts);
    for (const h of hosts) detector.recordResult(h, { localOrigin: 'connect-failure' });
    expect(detector.ejectedCount).to.equal(1);
    expect(stats.counter('cluster.c.outlier_detection.ejections_overflow')).to.equal(3);
  });

  it('a passing health check returns an ejected host; closing stops the timer and the gauge', () => {
    const stats = new Stats();
    const a = host(1);
    detector = new OutlierDetector(
      'c',
      { intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionPercent: 100, consecutive5xx: 1 },
      { stats },
    );
    detector.setHosts([a]);
    detector.recordResult(a, { status: 500 });
    detector.healthCheckPassed(a);
    expect(detector.isEjected(a)).to.equal(false);
    detector.close();
    expect(stats.snapshot().gauges).to.deep.equal([]);
  });

  it('keeps ejections across a config update and re-arms a changed interval', async () => {
    const stats = new Stats();
    const a = host(1);
    detector = new OutlierDetector(
      'c',
      { intervalMs: 60_000, baseEjectionTimeMs: 30, maxEjectionPercent: 100, consecutive5xx: 1 },
      { stats },
    );
    detector.setHosts([a, host(2)]);
    detector.recordResult(a, { status: 500 });
    const back = nextChange(detector, a);
    detector.updateConfig({ intervalMs: 10, baseEjectionTimeMs: 30, maxEjectionPercent: 100, consecutive5xx: 1 });
    expect(detector.isEjected(a)).to.equal(true);
    expect(await back).to.equal(false);
  });
});
