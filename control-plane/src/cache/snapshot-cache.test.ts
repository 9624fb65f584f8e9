// SnapshotCache: publishing only consistent snapshots, per-group notification, first-watch hook.

import type { NodeInfo } from '@trellis/node-contract';
import { expect } from 'chai';
import { apiListener, mesh } from './fixtures.ts';
import { Snapshot } from './snapshot.ts';
import { SnapshotCache } from './snapshot-cache.ts';

const node = (cluster: string): NodeInfo => ({
  id: 'n1',
  cluster,
  metadata: {},
  locality: { region: '', zone: '', sub_zone: '' },
  userAgentName: '',
  userAgentVersion: '',
  clientFeatures: [],
});

describe('SnapshotCache', () => {
  const snapA = Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'] }));
  const snapB = Snapshot.fromObjects('2', mesh({ orders: ['10.0.0.2'] }));

  it('maps nodes to groups with the given function', () => {
    const cache = new SnapshotCache({ groupOf: (n) => n.cluster || 'default' });
    expect(cache.groupOf(node('edge'))).to.equal('edge');
    expect(cache.groupOf(node(''))).to.equal('default');
  });

  it('refuses an inconsistent snapshot with its errors and keeps the previous one', () => {
    const cache = new SnapshotCache({ groupOf: () => 'g' });
    const seen: string[] = [];
    cache.watch('g', (s) => seen.push(s.version));
    cache.setSnapshot('g', snapA);
    const bad = Snapshot.fromObjects('bad', { listener: [apiListener('l', 'nowhere')] });
    expect(() => cache.setSnapshot('g', bad)).to.throw(/inconsistent snapshot bad for group "g".*"nowhere"/);
    expect(cache.getSnapshot('g')).to.equal(snapA);
    expect(seen).to.deep.equal(['1']);
  });

  it('notifies only the watchers of the changed group, and only when content changed', () => {
    const cache = new SnapshotCache({ groupOf: () => 'g' });
    const seen: string[] = [];
    cache.watch('a', (s) => seen.push(`a${s.version}`));
    cache.watch('b', (s) => seen.push(`b${s.version}`));
    cache.setSnapshot('a', snapA);
    cache.setSnapshot('a', Snapshot.fromObjects('1-again', mesh({ orders: ['10.0.0.1'] })));
    expect(cache.getSnapshot('a')?.version).to.equal('1-again');
    cache.setSnapshot('a', snapB);
    expect(seen).to.deep.equal(['a1', 'a2']);
  });

  it('asks the owner for a first snapshot and delivers it once', () => {
    const asked: string[] = [];
    const cache: SnapshotCache = new SnapshotCache({
      groupOf: () => 'g',
      onFirstWatch: (group) => {
        asked.push(group);
        cache.setSnapshot(group, snapA);
      },
    });
    const seen: string[] = [];
    cache.watch('g', (s) => seen.push(s.version));
    cache.watch('g', (s) => seen.push(`second ${s.version}`));
    expect(asked).to.deep.equal(['g']);
    expect(seen).to.deep.equal(['1', 'second 1']);
  });

  it('tracks groups with watchers and stops notifying after unwatch', () => {
    const cache = new SnapshotCache({ groupOf: () => 'g' });
    const seen: string[] = [];
    const stopA = cache.watch('a', (s) => seen.push(s.version));
    const stopB = cache.watch('b', () => {});
    expect(cache.groups().sort()).to.deep.equal(['a', 'b']);
    stopA();
    stopA();
    cache.setSnapshot('a', snapA);
    expect(seen).to.deep.equal([]);
    expect(cache.groups()).to.deep.equal(['b']);
    stopB();
    expect(cache.groups()).to.deep.equal([]);
  });

  it('tells the owner when the last watcher of a group leaves (once)', () => {
    const left: string[] = [];
    const cache = new SnapshotCache({ groupOf: () => 'g', onLastUnwatch: (group) => left.push(group) });
    const stop1 = cache.watch('g', () => {});
    const stop2 = cache.watch('g', () => {});
    stop1();
    expect(left).to.deep.equal([]);
    stop2();
    stop2();
    expect(left).to.deep.equal(['g']);
  });

  it('keeps notifying the other watchers when one throws, and reports the error', () => {
    const errors: unknown[] = [];
    const cache = new SnapshotCache({ groupOf: () => 'g', onError: (_g, err) => errors.push(err) });
    const seen: string[] = [];
    cache.watch('g', () => {
      throw new Error('boom');
    });
    cache.watch('g', (s) => seen.push(s.version));
    cache.setSnapshot('g', snapA);
    expect(seen).to.deep.equal(['1']);
    expect(errors).to.have.length(1);
  });
});
