// HealthChecker lifecycle with scripted probers: host set changes, start-up health, config updates, no-traffic
// interval, listeners and the healthy gauge.
import { expect } from 'chai';
import { Stats } from '../../common/stats.ts';
import type { HealthCheckConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { failed, PASSED, type ProbeResult } from './health-check-state.ts';
import { HealthChecker } from './health-checker.ts';
import type { ProberFactory } from './prober.ts';
import { fastCheck, loopbackHost } from './test-helpers.ts';

/** Probers that answer from `answers` per port and record what happens to them. */
function scripted(answers: Map<number, ProbeResult>) {
  const log: string[] = [];
  const factory: ProberFactory = (target, probe) => {
    log.push(`open ${target.port} ${probe.kind}`);
    return {
      check: async () => {
        log.push(`check ${target.port}`);
        return answers.get(target.port) ?? PASSED;
      },
      close: () => log.push(`close ${target.port}`),
    };
  };
  return { factory, log };
}

function change(checker: HealthChecker, host: Host, healthy: boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = checker.onChange((h, now) => {
      if (h === host && now === healthy) {
        off();
        resolve();
      }
    });
  });
}

function checks(checker: HealthChecker, host: Host, n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const off = checker.onCheck((h) => {
      if (h === host && --left === 0) {
        off();
        resolve();
      }
    });
  });
}

const TCP: HealthCheckConfig = fastCheck({ kind: 'tcp', receive: [] });

describe('HealthChecker', () => {
  let checker: HealthChecker | undefined;
  afterEach(() => checker?.close());

  it('checks new hosts, stops checking hosts that left, and treats untracked hosts as healthy', async () => {
    const { factory, log } = scripted(new Map());
    const [a, b] = [loopbackHost(1), loopbackHost(2)];
    checker = new HealthChecker('c', TCP, { stats: new Stats(), createProber: factory });
    checker.setHosts([a]);
    await checks(checker, a, 1);
    checker.setHosts([a, b]);
    await checks(checker, b, 1);
    checker.setHosts([b]);
    expect(log).to.include('close 1');
    const after = log.length;
    await checks(checker, b, 2);
    expect(log.slice(after).filter((l) => l === 'check 1')).to.deep.equal([]);
    expect(checker.isHealthy(loopbackHost(3))).to.equal(true);
  });

  it("with initialHealth 'unhealthy' a host waits for its first passing check (Envoy start-up)", async () => {
    const answers = new Map<number, ProbeResult>([[1, failed('network', 'refused')]]);
    const { factory } = scripted(answers);
    const a = loopbackHost(1);
    checker = new HealthChecker('c', TCP, { stats: new Stats(), createProber: factory, initialHealth: 'unhealthy' });
    checker.setHosts([a]);
    expect(checker.isHealthy(a)).to.equal(false);
    await checks(checker, a, 2);
    expect(checker.isHealthy(a)).to.equal(false);
    const healthy = change(checker, a, true);
    answers.delete(1);
    await healthy;
  });

  it('a config update restarts the loops with the new probe and keeps each host’s health', async () => {
    const answers = new Map<number, ProbeResult>([[1, failed('active', 'status 500')]]);
    const { factory, log } = scripted(answers);
    const a = loopbackHost(1);
    checker = new HealthChecker('c', TCP, { stats: new Stats(), createProber: factory });
    checker.setHosts([a]);
    await change(checker, a, false);
    checker.updateConfig({ ...TCP }); // same content: nothing restarts
    expect(log.filter((l) => l.startsWith('open'))).to.deep.equal(['open 1 tcp']);
    checker.updateConfig(fastCheck({ kind: 'grpc', serviceName: '', initialMetadata: [] }));
    expect(log).to.include('close 1');
    expect(log.at(-1)).to.equal('open 1 grpc');
    expect(checker.isHealthy(a)).to.equal(false);
  });

  it('checks at no_traffic_interval until the cluster has had traffic', async () => {
    const { factory, log } = scripted(new Map());
    const a = loopbackHost(1);
    let traffic = false;
    const config = fastCheck({ kind: 'tcp', receive: [] }, { noTrafficIntervalMs: 60_000 });
    checker = new HealthChecker('c', config, { stats: new Stats(), createProber: factory, hadTraffic: () => traffic });
    checker.setHosts([a]);
    await checks(checker, a, 1);
    // a's next check is a minute away. Once there is traffic, a new host b checks every 15 ms meanwhile.
    traffic = true;
    const b = loopbackHost(2);
    checker.setHosts([a, b]);
    await checks(checker, b, 4);
    expect(log.filter((l) => l === 'check 1')).to.have.length(1);
  });

  it('counts attempts and outcomes, exposes the healthy gauge, and closes cleanly', async () => {
    const stats = new Stats();
    const answers = new Map<number, ProbeResult>([[2, failed('network', 'refused')]]);
    const { factory, log } = scripted(answers);
    const [a, b] = [loopbackHost(1), loopbackHost(2)];
    checker = new HealthChecker('c', TCP, { stats, createProber: factory });
    checker.setHosts([a, b]);
    await change(checker, b, false);
    const gauge = () => stats.snapshot().gauges.find(([n]) => n === 'cluster.c.health_check.healthy')?.[1];
    expect(gauge()).to.equal(1);
    expect(stats.counter('cluster.c.health_check.attempt')).to.be.at.least(3);
    expect(stats.counter('cluster.c.health_check.network_failure')).to.be.at.least(2);
    expect(stats.counter('cluster.c.health_check.unhealthy_edge')).to.equal(1);
    checker.close();
    expect(gauge()).to.equal(undefined);
    expect(log.filter((l) => l.startsWith('close'))).to.have.length(2);
  });
});
