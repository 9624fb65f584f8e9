// Effective host health and Envoy's priority load / panic threshold rules (examples from Envoy's docs, properties).
import { expect } from 'chai';
import fc from 'fast-check';
import {
  effectiveHealth,
  hostsToBalance,
  inPanic,
  type PriorityCounts,
  pickPriority,
  priorityPlan,
} from './host-health.ts';
import { loopbackHost } from './test-helpers.ts';

/** A priority with `pct` percent of 100 hosts healthy. */
const pct = (healthy: number): PriorityCounts => ({ healthy, total: 100 });

describe('host health', () => {
  it('a host takes traffic only when EDS, active health checks and outlier detection all agree', () => {
    const h = loopbackHost(1);
    const hc = (ok: boolean) => ({ isHealthy: () => ok });
    const od = (ejected: boolean) => ({ isEjected: () => ejected });
    expect(effectiveHealth(h, {})).to.equal(true);
    expect(effectiveHealth(h, { active: hc(true), outlier: od(false) })).to.equal(true);
    expect(effectiveHealth(h, { active: hc(false), outlier: od(false) })).to.equal(false);
    expect(effectiveHealth(h, { active: hc(true), outlier: od(true) })).to.equal(false);
    expect(effectiveHealth(h, { edsHealthy: false, active: hc(true) })).to.equal(false);
    expect(effectiveHealth({ ...h, healthy: false }, {})).to.equal(false);
  });

  it('panics below the threshold (an empty priority too; threshold 0 never)', () => {
    expect(inPanic(5, 10, 50)).to.equal(false);
    expect(inPanic(4, 10, 50)).to.equal(true);
    expect(inPanic(0, 0, 50)).to.equal(true);
    expect(inPanic(0, 10, 0)).to.equal(false);
    const hosts = [1, 2, 3, 4];
    expect(hostsToBalance(hosts, (x) => x > 2, false)).to.deep.equal([3, 4]);
    expect(hostsToBalance(hosts, (x) => x > 2, true)).to.deep.equal(hosts);
  });

  it('spills load to lower priorities with the 1.4 overprovisioning factor (Envoy docs examples)', () => {
    const loads: [number, number, number[]][] = [
      [100, 100, [100, 0]],
      [72, 100, [100, 0]],
      [71, 100, [99, 1]],
      [50, 100, [70, 30]],
      [25, 100, [35, 65]],
      [0, 100, [0, 100]],
    ];
    for (const [p0, p1, load] of loads) {
      expect(priorityPlan([pct(p0), pct(p1)]).load, `${p0}% / ${p1}%`).to.deep.equal(load);
    }
  });

  it('panics only when the normalized total health is below 100', () => {
    // 25% / 100%: P1 absorbs the load; P0 is under the threshold but nobody panics.
    expect(priorityPlan([pct(25), pct(100)])).to.deep.equal({ load: [35, 65], panic: [false, false] });
    // 5% / 65%: total health 98: P0 panics (balances across all its hosts), P1 does not.
    expect(priorityPlan([pct(5), pct(65)])).to.deep.equal({ load: [8, 92], panic: [true, false] });
    // 25% / 25%: both panic: load follows host counts.
    expect(priorityPlan([pct(25), { healthy: 75, total: 300 }])).to.deep.equal({ load: [25, 75], panic: [true, true] });
    // One priority at 40%: 56 health, panic at the default 50%, not at 30%.
    expect(priorityPlan([pct(40)])).to.deep.equal({ load: [100], panic: [true] });
    expect(priorityPlan([pct(40)], 30)).to.deep.equal({ load: [100], panic: [false] });
    // Panic disabled and nothing healthy: P0 keeps the load and finds no host.
    expect(priorityPlan([pct(0), pct(0)], 0)).to.deep.equal({ load: [100, 0], panic: [false, false] });
    // No hosts at all.
    expect(priorityPlan([{ healthy: 0, total: 0 }])).to.deep.equal({ load: [100], panic: [true] });
  });

  it('always distributes exactly 100% over the priorities (property)', () => {
    const level = fc
      .record({ total: fc.nat(50), healthy: fc.nat(50) })
      .map(({ total, healthy }) => ({ total, healthy: Math.min(total, healthy) }));
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 100 }), (levels, t) => {
        const plan = priorityPlan(levels, t);
        expect(plan.load.reduce((a, b) => a + b, 0)).to.equal(100);
        expect(plan.load.every((l) => l >= 0)).to.equal(true);
        const allHealthy = levels.every((l) => l.healthy === l.total && l.total > 0);
        if (allHealthy) expect(plan.panic.every((p) => !p)).to.equal(true);
        // A priority with no healthy host never gets load unless everything is in panic.
        if (!plan.panic.every(Boolean)) {
          levels.forEach((l, i) => {
            if (l.healthy === 0 && i > 0) expect(plan.load[i]).to.equal(0);
          });
        }
      }),
    );
  });

  it('picks priorities by cumulative load', () => {
    expect([0, 34, 35, 99].map((r) => pickPriority([35, 65], r))).to.deep.equal([0, 0, 1, 1]);
    expect(pickPriority([0, 100], 0)).to.equal(1);
  });
});
