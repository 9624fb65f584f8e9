// Least connections: fewest connections per weight, weighted rotation among ties, health and avoid sets.
import { expect } from 'chai';
import fc from 'fast-check';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { LeastConnectionsBalancer } from './least-connections.ts';

describe('LeastConnectionsBalancer', () => {
  it('picks the host with the fewest active connections', () => {
    const hs = testHosts([1, 1, 1]);
    hs[0]!.stats.activeConnections = 3;
    hs[1]!.stats.activeConnections = 1;
    hs[2]!.stats.activeConnections = 2;
    const lb = new LeastConnectionsBalancer();
    lb.update(hs);
    expect(lb.pick({})).to.equal(hs[1]);
  });

  it('rotates among tied hosts', () => {
    const hs = testHosts([1, 1, 1]);
    const lb = new LeastConnectionsBalancer();
    lb.update(hs);
    expect(new Set([lb.pick({}), lb.pick({}), lb.pick({})]).size).to.equal(3);
  });

  it('idle hosts with weights 1:3 share picks exactly 25% / 75% per cycle', () => {
    const hs = testHosts([1, 3]);
    const lb = new LeastConnectionsBalancer();
    lb.update(hs);
    const seen = tally(400, () => lb.pick({}));
    expect(seen.get(hs[0])).to.equal(100);
    expect(seen.get(hs[1])).to.equal(300);
  });

  it('property: connections that stay open end up spread in proportion to the weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        (ws, k) => {
          const hs = testHosts(ws);
          const lb = new LeastConnectionsBalancer();
          lb.update(hs);
          const total = ws.reduce((a, b) => a + b, 0);
          for (let i = 0; i < k * total; i++) lb.pick({})!.stats.activeConnections++;
          hs.forEach((h, i) => {
            expect(h.stats.activeConnections).to.equal(k * ws[i]!);
          });
        },
      ),
    );
  });

  it('weight-aware: 4 connections on a weight-4 host count like 1 on a weight-1 host', () => {
    const hs = testHosts([4, 1]);
    hs[0]!.stats.activeConnections = 4;
    hs[1]!.stats.activeConnections = 2;
    const lb = new LeastConnectionsBalancer();
    lb.update(hs);
    expect(lb.pick({})).to.equal(hs[0]);
  });

  it('skips unhealthy hosts and avoided ones while another is left; undefined when none is healthy', () => {
    const hs = testHosts([1, 1, 1]);
    hs[2]!.stats.activeConnections = 5;
    const lb = new LeastConnectionsBalancer();
    lb.update(hs);
    hs[0]!.healthy = false;
    const avoid = new Set<Host>([hs[1]!]);
    expect(lb.pick({ avoid })).to.equal(hs[2]);
    expect(lb.pick({ avoid: new Set<Host>(hs) })).to.equal(hs[1]);
    for (const h of hs) h.healthy = false;
    expect(lb.pick({})).to.equal(undefined);
    expect(new LeastConnectionsBalancer().pick({})).to.equal(undefined);
  });
});
