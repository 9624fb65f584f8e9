// Least response time: P2C over peak-EWMA cost, load shifting off a 10× slower host, new hosts, weights, avoid sets.
import { expect } from 'chai';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { recordLatency } from '../host/latency.ts';
import { LeastResponseTimeBalancer } from './least-response-time.ts';
import { Rng } from './rng.ts';

/**
 * Open-loop traffic on a virtual clock: a request every `intervalMs`, each completing after its host's latency and
 * then recorded. Returns each host's share of the picks.
 */
function simulate(latencies: number[], intervalMs: number, durationMs: number, seed: number): number[] {
  const hs = testHosts(latencies.map(() => 1));
  let now = 0;
  const lb = new LeastResponseTimeBalancer({ rng: new Rng(seed), now: () => now });
  lb.update(hs);
  const inflight: { at: number; host: Host; ms: number }[] = [];
  const picks = new Map<Host, number>();
  for (now = 0; now < durationMs; now += intervalMs) {
    inflight.sort((a, b) => a.at - b.at);
    while (inflight.length > 0 && inflight[0]!.at <= now) {
      const done = inflight.shift()!;
      done.host.stats.activeRequests--;
      recordLatency(done.host, done.ms, done.at);
    }
    const host = lb.pick({})!;
    picks.set(host, (picks.get(host) ?? 0) + 1);
    host.stats.activeRequests++;
    const ms = latencies[hs.indexOf(host as (typeof hs)[number])]!;
    inflight.push({ at: now + ms, host, ms });
  }
  const total = [...picks.values()].reduce((a, b) => a + b, 0);
  return hs.map((h) => (picks.get(h) ?? 0) / total);
}

describe('LeastResponseTimeBalancer', () => {
  it('moves load off a host whose responses take 10× longer', () => {
    const shares = simulate([100, 10, 10, 10], 2, 60_000, 21);
    expect(shares[0]).to.be.below(0.02);
    for (const s of shares.slice(1)) expect(s).to.be.closeTo(1 / 3, 0.03);
  });

  it('at equal latency, spreads by queue length like least request', () => {
    const shares = simulate([20, 20, 20, 20], 2, 20_000, 22);
    for (const s of shares) expect(s).to.be.closeTo(0.25, 0.03);
  });

  it('cost = estimate × (active + 1): a fast host with a long queue loses to a slower idle one', () => {
    const [fast, slow] = testHosts([1, 1]);
    recordLatency(fast!, 10, 0);
    recordLatency(slow!, 50, 0);
    const lb = new LeastResponseTimeBalancer({ now: () => 0 });
    lb.update([fast!, slow!]);
    expect(lb.pick({})).to.equal(fast);
    fast!.stats.activeRequests = 5; // 60 > 50
    expect(lb.pick({})).to.equal(slow);
  });

  it('tries a host never observed at once (it borrows its rival’s estimate and wins ties), but not without limit', () => {
    const [old, fresh] = testHosts([1, 1]);
    recordLatency(old!, 10, 0);
    const lb = new LeastResponseTimeBalancer({ now: () => 0 });
    lb.update([old!, fresh!]);
    expect(lb.pick({})).to.equal(fresh);
    fresh!.stats.activeRequests = 1;
    expect(lb.pick({})).to.equal(old);
  });

  it('idle hosts with weights 1:3 and equal estimates share picks 25% / 75% (±5%)', () => {
    const hs = testHosts([1, 3]);
    const lb = new LeastResponseTimeBalancer({ rng: new Rng(23), now: () => 0 });
    lb.update(hs);
    const seen = tally(20000, () => lb.pick({}));
    expect(seen.get(hs[0])! / 20000).to.be.within(0.2, 0.3);
    const four = testHosts([1, 1, 2, 4]);
    const lb4 = new LeastResponseTimeBalancer({ rng: new Rng(24), now: () => 0 });
    lb4.update(four);
    const seen4 = tally(40000, () => lb4.pick({}));
    four.forEach((h) => {
      expect(seen4.get(h)! / 40000).to.be.closeTo(h.weight / 8, 0.03);
    });
  });

  it('skips avoided and unhealthy hosts while another is left; undefined when none is healthy', () => {
    const hs = testHosts([1, 1, 1]);
    const lb = new LeastResponseTimeBalancer({ rng: new Rng(25) });
    lb.update(hs);
    const avoid = new Set<Host>([hs[0]!]);
    hs[1]!.healthy = false;
    for (let i = 0; i < 20; i++) expect(lb.pick({ avoid })).to.equal(hs[2]);
    expect(lb.pick({ avoid: new Set<Host>(hs) })).to.be.oneOf([hs[0], hs[2]]);
    for (const h of hs) h.healthy = false;
    expect(lb.pick({})).to.equal(undefined);
    expect(new LeastResponseTimeBalancer().pick({})).to.equal(undefined);
    const [one] = testHosts([1]);
    lb.update([one!]);
    expect(lb.pick({})).to.equal(one);
  });
});
