// FileStore: stamping, persistence across restarts, crash leftovers, serialized commits, failed writes change nothing.

import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ServiceResource } from '../resources/types.ts';
import { LOCK_FILE } from './dir-lock.ts';
import { StoreConflictError } from './errors.ts';
import { FileStore, STATE_FILE } from './file-store.ts';
import type { StoreEvent } from './store.ts';

const svc = (name: string, port = 8080, labels?: Record<string, string>): ServiceResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: labels ? { name, labels } : { name },
  spec: { ports: [{ name: 'http', port, protocol: 'HTTP' }] },
});

describe('FileStore', () => {
  let dir: string;
  const stores: FileStore[] = [];
  const openStore = async () => {
    const store = new FileStore(dir);
    stores.push(store);
    await store.open();
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-store-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stamps generation (bumped on spec change only), timestamps and revisions', async () => {
    const store = await openStore();
    expect(await store.commit({ put: [svc('orders')], delete: [] })).to.equal(1);
    const first = store.get({ kind: 'Service', name: 'orders' });
    expect(first?.metadata.generation).to.equal(1);
    expect(first?.metadata.createdAt).to.be.a('string');
    expect(await store.commit({ put: [svc('orders')], delete: [] }), 'no-op keeps the revision').to.equal(1);
    expect(await store.commit({ put: [svc('orders', 8080, { team: 'a' })], delete: [] })).to.equal(2);
    expect(store.get({ kind: 'Service', name: 'orders' })?.metadata.generation, 'labels only').to.equal(1);
    expect(await store.commit({ put: [svc('orders', 9090)], delete: [] })).to.equal(3);
    const third = store.get({ kind: 'Service', name: 'orders' });
    expect(third?.metadata.generation).to.equal(2);
    expect(third?.metadata.createdAt).to.equal(first?.metadata.createdAt);
    expect(Object.isFrozen(third?.spec)).to.equal(true);
  });

  it('survives a restart on the same directory', async () => {
    const store = await openStore();
    await store.commit({ put: [svc('a'), svc('b')], delete: [] });
    await store.commit({ put: [svc('c')], delete: [{ kind: 'Service', name: 'a' }] });
    await store.close();
    const again = await openStore();
    expect(again.revision()).to.equal(2);
    expect(again.list('Service').map((r) => r.metadata.name)).to.deep.equal(['b', 'c']);
    expect(again.get({ kind: 'Service', name: 'b' })).to.deep.equal(store.get({ kind: 'Service', name: 'b' }));
  });

  it('ignores and removes a temp file left by a crash mid-write', async () => {
    const store = await openStore();
    await store.commit({ put: [svc('a')], delete: [] });
    await store.close();
    await writeFile(path.join(dir, `${STATE_FILE}.999.1.tmp`), '{"format": "trellis.store/v1", "revision": 7, "res');
    const again = await openStore();
    expect(again.revision()).to.equal(1);
    expect(again.list().map((r) => r.metadata.name)).to.deep.equal(['a']);
    // The temp file is gone; the lock is held while the store is open.
    expect((await readdir(dir)).sort()).to.deep.equal([LOCK_FILE, STATE_FILE]);
    await again.close();
    expect(await readdir(dir)).to.deep.equal([STATE_FILE]);
  });

  it('serializes concurrent commits and notifies watchers in revision order', async () => {
    const store = await openStore();
    const seen: StoreEvent[] = [];
    store.watch((events) => seen.push(...events));
    const revisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.commit({ put: [svc(`s${i}`)], delete: [] })),
    );
    expect(revisions).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen.map((e) => e.revision)).to.deep.equal(revisions);
    const onDisk = JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8'));
    expect(onDisk.revision).to.equal(20);
    expect(onDisk.resources).to.have.length(20);
  });

  it('notifies only after the state is on disk', async () => {
    const store = await openStore();
    let diskRevision = -1;
    store.watch(() => {
      diskRevision = JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')).revision;
    });
    await store.commit({ put: [svc('a')], delete: [] });
    expect(diskRevision).to.equal(1);
  });

  it('rejects a transaction whose expected revision is stale', async () => {
    const store = await openStore();
    await store.commit({ put: [svc('a')], delete: [] });
    let error: unknown;
    await store.commit({ put: [svc('b')], delete: [], ifRevision: 0 }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(StoreConflictError);
    expect(store.list()).to.have.length(1);
    expect(await store.commit({ put: [svc('b')], delete: [], ifRevision: 1 })).to.equal(2);
  });

  it('changes nothing when the write fails', async () => {
    const store = await openStore();
    await store.commit({ put: [svc('a')], delete: [] });
    // A directory where state.json should be makes the rename fail.
    await rm(path.join(dir, STATE_FILE));
    await mkdir(path.join(dir, STATE_FILE, 'blocker'), { recursive: true });
    let failed = false;
    await store.commit({ put: [svc('b')], delete: [] }).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(store.revision()).to.equal(1);
    expect(store.list().map((r) => r.metadata.name)).to.deep.equal(['a']);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('refuses a corrupt state file with a clear error', async () => {
    await writeFile(path.join(dir, STATE_FILE), 'not json');
    const store = new FileStore(dir);
    let message = '';
    await store.open().catch((e: Error) => (message = e.message));
    expect(message).to.match(/^cannot load the store from .*state\.json: not JSON/);
  });
});
