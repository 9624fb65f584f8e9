// Property tests of the outlier state machine over random result/tick sequences: the ejection cap, growing and
// capped ejection times, and un-ejection exactly when an ejection's time is up.
import { expect } from 'chai';
import fc from 'fast-check';
import type { OutlierDetectionConfig } from '../../config/model.ts';
import { outlierSettings } from './outlier-settings.ts';
import { type OutlierEvent, type OutlierResult, OutlierState } from './outlier-state.ts';

type Op = { kind: 'result'; host: number; result: OutlierResult } | { kind: 'tick'; advanceMs: number };

const resultArb: fc.Arbitrary<OutlierResult> = fc.oneof(
  fc.constantFrom(200, 404, 500, 502, 503, 504).map((status) => ({ status })),
  fc.constantFrom('connect-failure', 'timeout', 'reset', 'success').map((localOrigin) => ({ localOrigin }) as const),
);

const opArb = (hosts: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('result'), host: fc.nat(hosts - 1), result: resultArb }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick'), advanceMs: fc.integer({ min: 1, max: 40_000 }) }) },
  ) as fc.Arbitrary<Op>;

const configArb: fc.Arbitrary<OutlierDetectionConfig> = fc.record({
  intervalMs: fc.integer({ min: 1_000, max: 20_000 }),
  baseEjectionTimeMs: fc.integer({ min: 1_000, max: 30_000 }),
  maxEjectionTimeMs: fc.integer({ min: 30_000, max: 120_000 }),
  maxEjectionTimeJitterMs: fc.integer({ min: 0, max: 2_000 }),
  maxEjectionPercent: fc.integer({ min: 0, max: 100 }),
  alwaysEjectOneHost: fc.boolean(),
  splitExternalLocalOriginErrors: fc.boolean(),
  consecutive5xx: fc.integer({ min: 1, max: 4 }),
  consecutiveGatewayFailure: fc.integer({ min: 1, max: 4 }),
  consecutiveLocalOriginFailure: fc.integer({ min: 1, max: 4 }),
  successRate: fc.record({
    minimumHosts: fc.integer({ min: 1, max: 5 }),
    requestVolume: fc.integer({ min: 1, max: 5 }),
    stdevFactor: fc.double({ min: 0.1, max: 3, noNaN: true }),
  }),
  failurePercentage: fc.record({
    threshold: fc.integer({ min: 1, max: 100 }),
    minimumHosts: fc.integer({ min: 1, max: 5 }),
    requestVolume: fc.integer({ min: 1, max: 5 }),
  }),
});

interface Run {
  config: OutlierDetectionConfig;
  hosts: number;
  ops: Op[];
  seed: number;
}

const runArb: fc.Arbitrary<Run> = fc
  .record({ config: configArb, hosts: fc.integer({ min: 1, max: 12 }), seed: fc.nat() })
  .chain(({ config, hosts, seed }) =>
    fc.array(opArb(hosts), { maxLength: 300 }).map((ops) => ({ config, hosts, ops, seed })),
  );

/** A small deterministic PRNG so runs replay exactly. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Replays a run, calling `check` after every step with the events that step produced. */
function replay(
  run: Run,
  check: (state: OutlierState<number>, events: OutlierEvent<number>[], now: number, ticked: boolean) => void,
) {
  let step: OutlierEvent<number>[] = [];
  const state = new OutlierState<number>(outlierSettings(run.config), {
    random: prng(run.seed),
    onEvent: (e) => step.push(e),
  });
  state.setHosts(Array.from({ length: run.hosts }, (_, i) => i));
  let now = 0;
  for (const op of run.ops) {
    step = [];
    if (op.kind === 'result') state.record(op.host, op.result, now);
    else {
      now += op.advanceMs;
      state.tick(now);
    }
    check(state, step, now, op.kind === 'tick');
  }
}

describe('OutlierState properties', () => {
  it('never ejects more than max_ejection_percent of the hosts (one host at least with always_eject_one_host)', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const cap = Math.floor((run.config.maxEjectionPercent * run.hosts) / 100 + 1e-9);
        const allowed = run.config.alwaysEjectOneHost ? Math.max(1, cap) : cap;
        replay(run, (state) => {
          let ejected = 0;
          for (let h = 0; h < run.hosts; h++) if (state.isEjected(h)) ejected++;
          expect(ejected).to.equal(state.ejectedCount);
          expect(ejected).to.be.at.most(allowed);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('ejection time is base × multiplier capped at max_ejection_time (plus jitter), and grows while re-ejected', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const settings = outlierSettings(run.config);
        replay(run, (state, events) => {
          for (const e of events) {
            if (e.type !== 'ejected') continue;
            const k = state.backoff(e.key);
            expect(k).to.be.at.least(1);
            const expected = Math.min(settings.baseEjectionTimeMs * k, settings.maxEjectionTimeMs);
            expect(e.durationMs - expected).to.be.within(0, settings.maxEjectionTimeJitterMs);
            expect(e.durationMs).to.be.at.most(settings.maxEjectionTimeMs + settings.maxEjectionTimeJitterMs);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a host ejected again before a healthy interval passes gets a longer ejection, until the cap', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 2, max: 8 }), ({ successRate, failurePercentage, ...config }, times) => {
        // Only the consecutive 5xx detector, so each ejection is the one this test causes.
        const settings = outlierSettings({ ...config, maxEjectionPercent: 100, maxEjectionTimeJitterMs: 0 });
        const durations: number[] = [];
        const state = new OutlierState<string>(settings, {
          random: () => 0,
          onEvent: (e) => {
            if (e.type === 'ejected') durations.push(e.durationMs);
          },
        });
        state.setHosts(['h']);
        let now = 0;
        for (let i = 0; i < times; i++) {
          for (let j = 0; j < settings.consecutive5xx; j++) state.record('h', { status: 500 }, now);
          now = state.ejectedUntil('h') ?? now;
          state.tick(now); // un-ejected at exactly its time; the next failures come before another interval
        }
        expect(durations).to.have.length(times);
        for (let i = 0; i < durations.length; i++) {
          const want = Math.min(settings.baseEjectionTimeMs * (i + 1), settings.maxEjectionTimeMs);
          expect(durations[i]).to.equal(want);
        }
      }),
    );
  });

  it('an ejected host stays out until its time and is released by the first tick at or after it', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const until = new Map<number, number>();
        replay(run, (state, events, now, ticked) => {
          const released = new Set(events.filter((e) => e.type === 'unejected').map((e) => e.key));
          for (const [key, t] of until) {
            if (released.has(key)) {
              expect(now).to.be.at.least(t);
              until.delete(key);
            } else {
              expect(state.isEjected(key)).to.equal(true);
              // A tick at or after the time always releases the host.
              if (ticked && now >= t) expect.fail(`host ${key} still ejected at ${now} ≥ ${t}`);
            }
          }
          for (const e of events) if (e.type === 'ejected') until.set(e.key, state.ejectedUntil(e.key) as number);
        });
      }),
      { numRuns: 300 },
    );
  });
});
