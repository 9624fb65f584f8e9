// Subscription: SotW full-set and Delta incremental name handling, wildcard rules, nonce staleness.
import { expect } from 'chai';
import { Subscription } from './subscription.ts';

describe('Subscription', () => {
  it('SotW: an empty first list is a legacy wildcard for LDS/CDS only', () => {
    const cds = new Subscription('cluster');
    cds.replace([]);
    expect(cds.wildcard).to.equal(true);
    expect(cds.statusNames()).to.deep.equal(['*']);
    const eds = new Subscription('endpoint');
    eds.replace([]);
    expect(eds.active).to.equal(false);
  });

  it('SotW: once names were sent, an empty list unsubscribes and "*" stays explicit', () => {
    const lds = new Subscription('listener');
    expect(lds.replace(['a', 'b'])).to.deep.equal(['a', 'b']);
    expect(lds.replace(['b', 'c'])).to.deep.equal(['c']);
    expect(lds.covers('a')).to.equal(false);
    lds.replace([]);
    expect(lds.active).to.equal(false);
    lds.replace(['*', 'x']);
    expect(lds.wildcard).to.equal(true);
    expect(lds.statusNames()).to.deep.equal(['*', 'x']);
  });

  it('Delta: legacy wildcard on the first request only, "*" subscribe and unsubscribe', () => {
    const cds = new Subscription('cluster');
    cds.subscribe([], true);
    expect(cds.wildcard).to.equal(true);
    cds.subscribe(['a'], false);
    expect(cds.wildcard).to.equal(true);
    cds.unsubscribe(['*']);
    expect(cds.wildcard).to.equal(false);
    expect(cds.statusNames()).to.deep.equal(['a']);
    const rds = new Subscription('route');
    rds.subscribe([], true);
    expect(rds.active).to.equal(false);
    expect(rds.subscribe(['r1', 'r1', '*'], false)).to.deep.equal(['r1']);
    expect(rds.wildcard).to.equal(true);
  });

  it('treats a nonce as stale only once a response was sent and it is not the latest', () => {
    const s = new Subscription('listener');
    expect(s.isStale('5')).to.equal(false);
    s.lastNonce = '7';
    expect(s.isStale('')).to.equal(false);
    expect(s.isStale('5')).to.equal(true);
    expect(s.answersLatest('7')).to.equal(true);
    expect(s.answersLatest('')).to.equal(false);
  });

  it('changes its revision only when the subscription changes (an ACK repeating the names does not)', () => {
    const eds = new Subscription('endpoint');
    const r0 = eds.revision;
    eds.replace(['a', 'b']);
    const r1 = eds.revision;
    expect(r1).to.not.equal(r0);
    eds.replace(['b', 'a']);
    expect(eds.revision, 'same names again').to.equal(r1);
    eds.replace(['a', 'c']);
    expect(eds.revision, 'same size, other names').to.not.equal(r1);
    const delta = new Subscription('endpoint');
    delta.subscribe(['x'], true);
    const d1 = delta.revision;
    delta.subscribe(['x'], false);
    delta.unsubscribe(['y', '*']);
    expect(delta.revision, 'nothing added or removed').to.equal(d1);
    delta.unsubscribe(['x']);
    expect(delta.revision).to.not.equal(d1);
    expect(delta.statusNames()).to.deep.equal([]);
  });

  it('shares one set of names between streams subscribed to the same ones, and copies it before a change', () => {
    const names = Array.from({ length: 12 }, (_, i) => `svc${i}|8080`);
    const a = new Subscription('endpoint');
    const b = new Subscription('endpoint');
    a.subscribe(names, true);
    b.replace([...names].reverse());
    expect(a.names).to.equal(b.names);
    a.subscribe(['extra|8080'], false);
    expect(a.names).to.not.equal(b.names);
    expect(b.names.size, 'the other stream keeps its names').to.equal(12);
    expect(b.covers('extra|8080')).to.equal(false);
    a.unsubscribe(['extra|8080']);
    expect(a.names, 'back to the same names: shared again').to.equal(b.names);
    b.unsubscribe([names[0]!]);
    expect(a.names.size).to.equal(12);
    expect(b.names.size).to.equal(11);
  });
});
