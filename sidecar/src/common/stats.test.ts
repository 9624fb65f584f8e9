// Stats: incremented and computed counters, and one name that is both (reported once, as the sum).
import { expect } from 'chai';
import { Stats } from './stats.ts';

describe('Stats counters', () => {
  it('reports a name both incremented and computed as one counter with their sum', () => {
    const stats = new Stats();
    let live = 5;
    stats.inc('cluster.db.upstream_cx_rx_bytes_total', 100);
    const unregister = stats.counterFn('cluster.db.upstream_cx_rx_bytes_total', () => live);
    stats.counterFn('cluster.web.upstream_cx_rx_bytes_total', () => 7);
    stats.inc('plain', 2);
    expect(stats.counter('cluster.db.upstream_cx_rx_bytes_total')).to.equal(105);
    live = 9;
    expect(stats.snapshot().counters).to.deep.equal([
      ['cluster.db.upstream_cx_rx_bytes_total', 109],
      ['cluster.web.upstream_cx_rx_bytes_total', 7],
      ['plain', 2],
    ]);
    unregister();
    expect(stats.counter('cluster.db.upstream_cx_rx_bytes_total')).to.equal(100);
    expect(stats.counter('missing')).to.equal(0);
  });
});
