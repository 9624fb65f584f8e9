// Pure health check bookkeeping: thresholds and transitions, interval choice and jitter, status ranges, payloads.
import { expect } from 'chai';
import fc from 'fast-check';
import type { HealthCheckConfig } from '../../config/model.ts';
import {
  applyResult,
  failed,
  inRanges,
  newHostCheckState,
  nextIntervalMs,
  PASSED,
  type ProbeResult,
  payloadMatches,
  withJitter,
} from './health-check-state.ts';

const T = { healthyThreshold: 2, unhealthyThreshold: 3 };
const NET = failed('network', 'timeout');

const config = (overrides: Partial<HealthCheckConfig> = {}): HealthCheckConfig => ({
  probe: { kind: 'tcp', receive: [] },
  timeoutMs: 1000,
  intervalMs: 5000,
  initialJitterMs: 0,
  intervalJitterMs: 0,
  intervalJitterPercent: 0,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  reuseConnection: true,
  ...overrides,
});

describe('health check state', () => {
  it('network failures need unhealthy_threshold in a row; a success in between starts over', () => {
    const s = newHostCheckState(true);
    expect(applyResult(s, NET, T)).to.equal('change-pending');
    expect(applyResult(s, NET, T)).to.equal('change-pending');
    expect(applyResult(s, PASSED, T)).to.equal('unchanged');
    expect(applyResult(s, NET, T)).to.equal('change-pending');
    expect(applyResult(s, failed('retriable', 'status 429'), T)).to.equal('change-pending');
    expect(applyResult(s, NET, T)).to.equal('changed');
    expect(s.healthy).to.equal(false);
    expect(applyResult(s, NET, T)).to.equal('unchanged');
  });

  it('an active failure takes a healthy host out at once; healthy_threshold successes bring it back', () => {
    const s = newHostCheckState(true);
    applyResult(s, PASSED, T);
    expect(applyResult(s, failed('active', 'status 500'), T)).to.equal('changed');
    expect(applyResult(s, PASSED, T)).to.equal('change-pending');
    expect(applyResult(s, NET, T)).to.equal('unchanged');
    expect(applyResult(s, PASSED, T)).to.equal('change-pending');
    expect(applyResult(s, PASSED, T)).to.equal('changed');
    expect(s.healthy).to.equal(true);
  });

  it('a host that starts failing needs a single passing first check (Envoy start-up)', () => {
    const s = newHostCheckState(false);
    expect(applyResult(s, PASSED, T)).to.equal('changed');
    const t = newHostCheckState(false);
    expect(applyResult(t, NET, T)).to.equal('unchanged');
    expect(applyResult(t, PASSED, T)).to.equal('change-pending');
  });

  it('health flips only after the thresholds, for any result sequence (property)', () => {
    const resultArb: fc.Arbitrary<ProbeResult> = fc.constantFrom(
      PASSED,
      NET,
      failed('retriable', 'r'),
      failed('active', 'a'),
    );
    fc.assert(
      fc.property(
        fc.array(resultArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (results, healthyThreshold, unhealthyThreshold) => {
          const th = { healthyThreshold, unhealthyThreshold };
          const s = newHostCheckState(true);
          s.firstCheck = false;
          let run: ProbeResult[] = [];
          for (const r of results) {
            const was = s.healthy;
            const t = applyResult(s, r, th);
            run = run.length > 0 && run[0]?.ok === r.ok ? [...run, r] : [r];
            expect(t === 'changed').to.equal(was !== s.healthy);
            if (t !== 'changed') continue;
            if (s.healthy) expect(run).to.have.length(healthyThreshold);
            else if (!r.ok && r.kind !== 'active') {
              expect(run.filter((x) => !x.ok && x.kind === 'active')).to.have.length(0);
              expect(run).to.have.length(unhealthyThreshold);
            }
          }
        },
      ),
    );
  });

  it('picks the interval Envoy would: no-traffic, edge, unhealthy, normal', () => {
    const c = config({
      noTrafficIntervalMs: 60_000,
      noTrafficHealthyIntervalMs: 90_000,
      unhealthyIntervalMs: 2000,
      unhealthyEdgeIntervalMs: 1000,
      healthyEdgeIntervalMs: 500,
    });
    const r = () => 0;
    expect(nextIntervalMs(c, true, 'unchanged', true, false, r)).to.equal(90_000);
    expect(nextIntervalMs(c, false, 'unchanged', false, false, r)).to.equal(60_000);
    expect(nextIntervalMs(c, true, 'unchanged', true, true, r)).to.equal(5000);
    expect(nextIntervalMs(c, true, 'change-pending', false, true, r)).to.equal(500);
    expect(nextIntervalMs(c, false, 'change-pending', true, true, r)).to.equal(1000);
    expect(nextIntervalMs(c, false, 'changed', false, true, r)).to.equal(2000);
    expect(nextIntervalMs(c, false, 'unchanged', false, true, r)).to.equal(2000);
    // Defaults: unhealthy = interval, edges follow them, no traffic = 60 s.
    const d = config();
    expect(nextIntervalMs(d, false, 'change-pending', true, true, r)).to.equal(5000);
    expect(nextIntervalMs(d, true, 'unchanged', true, false, r)).to.equal(60_000);
  });

  it('adds up to interval_jitter_percent of the interval plus up to interval_jitter', () => {
    expect(withJitter(1000, { intervalJitterPercent: 10, intervalJitterMs: 50 }, () => 0.999)).to.equal(1000 + 99 + 49);
    expect(withJitter(1000, { intervalJitterPercent: 0, intervalJitterMs: 0 }, () => 0.999)).to.equal(1000);
  });

  it('matches status ranges half-open and payload blocks in order', () => {
    expect(inRanges(200, [{ start: 200, end: 201 }])).to.equal(true);
    expect(inRanges(201, [{ start: 200, end: 201 }])).to.equal(false);
    const b = (s: string) => Uint8Array.from(Buffer.from(s));
    expect(payloadMatches([], b('anything'))).to.equal(true);
    expect(payloadMatches([b('ab'), b('ef')], b('abcdef'))).to.equal(true);
    expect(payloadMatches([b('ef'), b('ab')], b('abcdef'))).to.equal(false);
    expect(payloadMatches([b('ab'), b('ab')], b('abab'))).to.equal(true);
    expect(payloadMatches([b('ab'), b('ab')], b('ab'))).to.equal(false);
  });
});
