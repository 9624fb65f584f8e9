// Outlier state machine: each detector, ejection time and its decay, max ejection percent, enforcing, un-ejection.
import { expect } from 'chai';
import type { OutlierDetectionConfig } from '../../config/model.ts';
import { outlierSettings } from './outlier-settings.ts';
import { type OutlierEvent, type OutlierResult, OutlierState } from './outlier-state.ts';

const BASE: OutlierDetectionConfig = {
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 100,
  consecutive5xx: 5,
};

function machine(
  config: Partial<OutlierDetectionConfig> = {},
  hosts: string[] = ['a', 'b', 'c', 'd', 'e'],
  random: () => number = () => 0,
): { state: OutlierState<string>; events: OutlierEvent<string>[] } {
  const events: OutlierEvent<string>[] = [];
  const state = new OutlierState<string>(outlierSettings({ ...BASE, ...config }), {
    random,
    onEvent: (e) => events.push(e),
  });
  state.setHosts(hosts);
  return { state, events };
}

function feed(state: OutlierState<string>, key: string, result: OutlierResult, times: number, now = 0): void {
  for (let i = 0; i < times; i++) state.record(key, result, now);
}

const ejections = (events: OutlierEvent<string>[]) => events.filter((e) => e.type === 'ejected');

describe('OutlierState', () => {
  it('ejects after consecutive 5xx; a success in between resets the count', () => {
    const { state, events } = machine();
    feed(state, 'a', { status: 500 }, 4);
    state.record('a', { status: 200 }, 0);
    feed(state, 'a', { status: 500 }, 4);
    expect(state.isEjected('a')).to.equal(false);
    state.record('a', { status: 503 }, 0);
    expect(state.isEjected('a')).to.equal(true);
    expect(ejections(events)).to.deep.equal([
      { type: 'ejected', key: 'a', cause: 'consecutive_5xx', durationMs: 30_000 },
    ]);
    expect(state.ejectedCount).to.equal(1);
  });

  it('ejects after consecutive gateway failures (502/503/504); another 5xx breaks the run', () => {
    const { state, events } = machine({ consecutive5xx: 10, consecutiveGatewayFailure: 3 });
    feed(state, 'a', { status: 502 }, 2);
    state.record('a', { status: 500 }, 0);
    feed(state, 'a', { status: 504 }, 2);
    expect(state.isEjected('a')).to.equal(false);
    state.record('a', { status: 503 }, 0);
    expect(ejections(events)).to.have.length(1);
    expect(ejections(events)[0]).to.include({ cause: 'consecutive_gateway_failure' });
  });

  it('without the split, local-origin failures count as 503/504 and a TCP success as 200', () => {
    const { state, events } = machine({ consecutive5xx: 3, consecutiveGatewayFailure: 2 });
    state.record('a', { localOrigin: 'connect-failure' }, 0);
    state.record('a', { localOrigin: 'success' }, 0);
    state.record('a', { localOrigin: 'reset' }, 0);
    state.record('a', { localOrigin: 'timeout' }, 0);
    expect(ejections(events)[0]).to.include({ key: 'a', cause: 'consecutive_gateway_failure' });
  });

  it('with split_external_local_origin_errors, local failures have their own detector and responses reset it', () => {
    const { state, events } = machine({
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 3,
      consecutive5xx: 3,
    });
    feed(state, 'a', { localOrigin: 'timeout' }, 2);
    state.record('a', { status: 500 }, 0); // the connection worked: local run broken, one 5xx
    feed(state, 'a', { localOrigin: 'connect-failure' }, 2);
    expect(state.isEjected('a')).to.equal(false);
    state.record('a', { localOrigin: 'reset' }, 0);
    expect(ejections(events).map((e) => e.cause)).to.deep.equal(['consecutive_local_origin_failure']);
    // Local failures never feed the 5xx detector when split.
    feed(state, 'b', { localOrigin: 'connect-failure' }, 2);
    feed(state, 'b', { status: 500 }, 2);
    expect(state.isEjected('b')).to.equal(false);
  });

  it('un-ejects at the first tick after base × multiplier, and the multiplier grows, caps and decays', () => {
    const { state, events } = machine({ consecutive5xx: 1, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 70_000 });
    const eject = (now: number) => state.record('a', { status: 500 }, now);
    eject(0);
    state.tick(20_000);
    expect(state.isEjected('a')).to.equal(true);
    state.tick(30_000);
    expect(state.isEjected('a')).to.equal(false);
    expect(events.at(-1)).to.deep.equal({ type: 'unejected', key: 'a', reason: 'expired' });
    eject(30_000); // second ejection: 60 s
    expect(state.ejectedUntil('a')).to.equal(90_000);
    state.tick(90_000);
    eject(90_000); // third: 90 s capped at 70 s
    expect(state.ejectedUntil('a')).to.equal(160_000);
    state.tick(160_000);
    eject(160_000); // still capped
    expect(ejections(events).map((e) => e.durationMs)).to.deep.equal([30_000, 60_000, 70_000, 70_000]);
    expect(state.backoff('a')).to.equal(4); // stops growing once base × multiplier ≥ max + base
    state.tick(230_000);
    // Healthy intervals after the un-ejection bring the multiplier back down, one per interval.
    for (let t = 240_000; t <= 300_000; t += 10_000) state.tick(t);
    expect(state.backoff('a')).to.equal(0);
    eject(300_000);
    expect(ejections(events).at(-1)).to.include({ durationMs: 30_000 });
  });

  it('never ejects beyond max_ejection_percent (overflow is reported)', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const { state, events } = machine({ consecutive5xx: 1, maxEjectionPercent: 20 }, hosts);
    for (const h of hosts) state.record(h, { status: 500 }, 0);
    expect(state.ejectedCount).to.equal(2);
    expect(events.filter((e) => e.type === 'detected' && e.outcome === 'overflow')).to.have.length(8);
  });

  it('ejects nobody when the percentage allows less than one host, unless always_eject_one_host', () => {
    const strict = machine({ consecutive5xx: 1, maxEjectionPercent: 10 });
    strict.state.record('a', { status: 500 }, 0);
    expect(strict.state.ejectedCount).to.equal(0);
    const one = machine({ consecutive5xx: 1, maxEjectionPercent: 10, alwaysEjectOneHost: true });
    one.state.record('a', { status: 500 }, 0);
    one.state.record('b', { status: 500 }, 0);
    expect(one.state.ejectedCount).to.equal(1);
  });

  it('honours the enforcing percentage (detected but not ejected)', () => {
    const enforcing = {
      consecutive5xx: 50,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
      successRate: 0,
      localOriginSuccessRate: 0,
      failurePercentage: 0,
      failurePercentageLocalOrigin: 0,
    };
    let roll = 0.7;
    const { state, events } = machine({ consecutive5xx: 2, enforcing }, undefined, () => roll);
    feed(state, 'a', { status: 500 }, 2);
    expect(state.isEjected('a')).to.equal(false);
    expect(events).to.deep.equal([{ type: 'detected', key: 'a', cause: 'consecutive_5xx', outcome: 'not-enforced' }]);
    roll = 0.2;
    feed(state, 'a', { status: 500 }, 2); // the counter was reset by the detection
    expect(state.isEjected('a')).to.equal(true);
  });

  it('ejects success-rate outliers (mean − 1.9 × stdev) among hosts with enough volume', () => {
    const successRate = { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 };
    const { state, events } = machine({ consecutive5xx: 0, successRate });
    for (const h of ['a', 'b', 'c', 'd']) feed(state, h, { status: 200 }, 100);
    feed(state, 'e', { status: 200 }, 50);
    feed(state, 'e', { status: 500 }, 50); // rates 100,100,100,100,50: mean 90, stdev 20, threshold 52
    state.tick(10_000);
    expect(ejections(events)).to.deep.equal([{ type: 'ejected', key: 'e', cause: 'success_rate', durationMs: 30_000 }]);
    // The next interval starts from empty counters: no data, no new ejection.
    state.tick(20_000);
    expect(ejections(events)).to.have.length(1);
  });

  it('skips success rate with fewer qualifying hosts than success_rate_minimum_hosts', () => {
    const successRate = { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 };
    const { state, events } = machine({ consecutive5xx: 0, successRate });
    for (const h of ['a', 'b', 'c']) feed(state, h, { status: 200 }, 100);
    feed(state, 'd', { status: 200 }, 99); // below request volume
    feed(state, 'e', { status: 500 }, 100);
    state.tick(10_000);
    expect(ejections(events)).to.deep.equal([]);
  });

  it('ejects failure-percentage outliers at or above the threshold', () => {
    const failurePercentage = { threshold: 50, minimumHosts: 2, requestVolume: 10 };
    const { state, events } = machine({ consecutive5xx: 0, failurePercentage }, ['a', 'b', 'c']);
    feed(state, 'a', { status: 200 }, 10);
    feed(state, 'b', { status: 200 }, 5);
    feed(state, 'b', { status: 503 }, 5);
    feed(state, 'c', { status: 500 }, 5); // too few requests to judge
    state.tick(10_000);
    expect(ejections(events).map((e) => [e.key, e.cause])).to.deep.equal([['b', 'failure_percentage']]);
  });

  it('runs the interval detectors on local-origin results when split', () => {
    const failurePercentage = { threshold: 80, minimumHosts: 1, requestVolume: 5 };
    const enforcing = {
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
      successRate: 0,
      localOriginSuccessRate: 0,
      failurePercentage: 0,
      failurePercentageLocalOrigin: 100,
    };
    const { state, events } = machine(
      { splitExternalLocalOriginErrors: true, consecutive5xx: 0, failurePercentage, enforcing },
      ['a', 'b'],
    );
    feed(state, 'a', { localOrigin: 'connect-failure' }, 5);
    feed(state, 'b', { status: 500 }, 5); // external failures: that detector does not enforce
    state.tick(10_000);
    expect(ejections(events).map((e) => [e.key, e.cause])).to.deep.equal([['a', 'local_origin_failure_percentage']]);
  });

  it('adds up to max_ejection_time_jitter to the ejection', () => {
    const { state, events } = machine({ consecutive5xx: 1, maxEjectionTimeJitterMs: 1000 }, undefined, () => 0.5);
    state.record('a', { status: 500 }, 0);
    expect(ejections(events)[0]).to.include({ durationMs: 30_500 });
    state.tick(30_000);
    expect(state.isEjected('a')).to.equal(true);
    state.tick(30_500);
    expect(state.isEjected('a')).to.equal(false);
  });

  it('a passing active health check un-ejects (unless configured not to); removed hosts leave the count', () => {
    const { state, events } = machine({ consecutive5xx: 1 });
    state.record('a', { status: 500 }, 0);
    state.record('b', { status: 500 }, 0);
    state.healthCheckPassed('a', 1000);
    expect(events.at(-1)).to.deep.equal({ type: 'unejected', key: 'a', reason: 'health-check' });
    state.setHosts(['a', 'c']);
    expect(state.ejectedCount).to.equal(0);
    expect(state.isEjected('b')).to.equal(false);
    state.record('b', { status: 500 }, 0); // results for hosts no longer tracked are ignored
    expect(state.hostCount).to.equal(2);
    const sticky = machine({ consecutive5xx: 1, successfulActiveHealthCheckUnejectHost: false });
    sticky.state.record('a', { status: 500 }, 0);
    sticky.state.healthCheckPassed('a', 1000);
    expect(sticky.state.isEjected('a')).to.equal(true);
  });
});
