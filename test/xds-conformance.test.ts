// xDS v3 conformance of the ADS server over real gRPC streams: SotW and Delta, ACK/NACK, subscriptions, ordering.
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import pino from 'pino';
import { apiListener, edsCluster, loadAssignment, mesh, routeConfig } from '../control-plane/src/cache/fixtures.ts';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import { SnapshotCache } from '../control-plane/src/cache/snapshot-cache.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import type { ServiceResource } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import type { ProxyEvent, TypeStatus } from '../control-plane/src/xds/proxy-status.ts';
import { XdsServer } from '../control-plane/src/xds/server.ts';
import { DeltaClient, type NodeSpec, rawStream, SotwClient } from './helpers/ads-client.ts';

const { cluster: CDS, endpoint: EDS, listener: LDS, route: RDS } = TYPE_URLS;
const NODE: NodeSpec = {
  id: 'proxy-1',
  cluster: 'g',
  metadata: { TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'orders' },
};

type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** One server with its cache and captured logs; closed (with every client) after each test. */
class Harness {
  readonly cache: SnapshotCache;
  readonly logs: LogRecord[] = [];
  readonly #logEvents = new EventEmitter();
  readonly server: XdsServer;
  readonly #clients: { close(): void }[] = [];
  address = '';

  constructor(onFirstWatch?: (group: string) => void) {
    this.cache = new SnapshotCache({
      groupOf: (node) => node.cluster || 'default',
      ...(onFirstWatch ? { onFirstWatch } : {}),
    });
    const logger = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const record = JSON.parse(line) as LogRecord;
          this.logs.push(record);
          this.#logEvents.emit('log', record);
        },
      },
    );
    this.server = new XdsServer({ cache: this.cache, logger });
  }

  async start(): Promise<this> {
    const port = await this.server.listen('127.0.0.1', 0);
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  set(version: string, services: Record<string, string[]>): Snapshot {
    const snap = Snapshot.fromObjects(version, mesh(services));
    this.cache.setSnapshot('g', snap);
    return snap;
  }

  sotw(node: NodeSpec | null = NODE): SotwClient {
    const c = new SotwClient(this.address, node);
    this.#clients.push(c);
    return c;
  }

  delta(node: NodeSpec | null = NODE): DeltaClient {
    const c = new DeltaClient(this.address, node);
    this.#clients.push(c);
    return c;
  }

  raw(method: 'sotw' | 'delta'): ReturnType<typeof rawStream> {
    const c = rawStream(this.address, method);
    this.#clients.push(c);
    return c;
  }

  /** Resolves with the first log record (past or future) matching, or rejects after a bounded wait. */
  waitForLog(match: (r: LogRecord) => boolean, timeoutMs = 3000): Promise<LogRecord> {
    const past = this.logs.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const onLog = (r: LogRecord): void => {
        if (!match(r)) return;
        clearTimeout(timer);
        this.#logEvents.off('log', onLog);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#logEvents.off('log', onLog);
        reject(new Error(`no matching log line within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#logEvents.on('log', onLog);
    });
  }

  /** Resolves once the server has processed the ACK of a reply (so later snapshots see it). */
  acked(reply: { type_url: string; nonce: string }): Promise<LogRecord> {
    return this.waitForLog((r) => r.msg === 'ACK' && r['typeUrl'] === reply.type_url && r['nonce'] === reply.nonce);
  }

  /** Per-type status of the only connected proxy. */
  typeStatus(typeUrl: string): TypeStatus | undefined {
    const [proxy] = this.server.list();
    return proxy?.types.find((t) => t.typeUrl === typeUrl);
  }

  async close(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.close();
    await this.server.close(1000);
  }
}

/** One listener whose route splits between two clusters (weights), or goes to the first only. */
function splitMesh(weights: Record<string, number> | string): Parameters<typeof Snapshot.fromObjects>[1] {
  const clusters = typeof weights === 'string' ? [weights] : Object.keys(weights);
  return {
    listener: [apiListener('orders', 'orders-route')],
    route: [routeConfig('orders-route', weights)],
    cluster: clusters.map((c) => edsCluster(c)),
    endpoint: clusters.map((c, i) => loadAssignment(c, `10.0.0.${i + 1}`)),
    secret: [],
  };
}

/** What a client of splitMesh subscribes to: every cluster, both load assignments, every listener, the route. */
const SPLIT_SUBSCRIPTIONS = [
  [TYPE_URLS.cluster, []],
  [TYPE_URLS.endpoint, ['orders', 'users']],
  [TYPE_URLS.listener, []],
  [TYPE_URLS.route, ['orders-route']],
] as const;

describe('xDS conformance', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().start();
  });
  afterEach(async () => {
    await h.close();
  });

  describe('state of the world', () => {
    it('answers a legacy wildcard CDS request with every cluster, each Any typed as the response', async () => {
      const snap = h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: CDS });
      const reply = await c.next();
      expect(reply.type_url).to.equal(CDS);
      expect(reply.names.sort()).to.deep.equal(['orders', 'users']);
      expect(reply.resources.every((r) => r.type_url === CDS)).to.equal(true);
      expect(reply.version_info).to.equal(snap.typeVersion('cluster'));
      expect(reply.nonce).to.not.equal('');
      expect(h.typeStatus(CDS)).to.include({ sentVersion: reply.version_info, ackedVersion: '' });
      expect(h.typeStatus(CDS)?.subscribed).to.deep.equal(['*']);
    });

    it('caches the node from the first request and reports connect and disconnect', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const events: ProxyEvent[] = [];
      h.server.onEvent((e) => events.push(e));
      const c = h.sotw({ ...NODE, user_agent_name: 'envoy', locality: { zone: 'z1' } });
      c.send({ type_url: CDS });
      await c.next(CDS);
      c.sendRaw({ type_url: LDS, resource_names: [] });
      await c.next(LDS);
      const [proxy] = h.server.list();
      expect(proxy?.protocol).to.equal('sotw');
      expect(proxy?.node).to.deep.include({ id: 'proxy-1', cluster: 'g', userAgentName: 'envoy' });
      expect(proxy?.node.metadata).to.deep.equal({ TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'orders' });
      expect(proxy?.node.locality.zone).to.equal('z1');
      expect(events.map((e) => e.type)).to.deep.equal(['connected']);
      const gone = new Promise<ProxyEvent>((resolve) => h.server.onEvent(resolve));
      c.close();
      const e = await gone;
      expect(e.type).to.equal('disconnected');
      expect(e.status.node.id).to.equal('proxy-1');
      expect(h.server.list()).to.deep.equal([]);
    });

    it('does not resend on ACK and records the acked version', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.sotw();
      c.send({ type_url: CDS });
      const reply = await c.next();
      c.ack(reply);
      c.send({ type_url: EDS, resource_names: ['orders'] });
      expect((await c.next()).type_url).to.equal(EDS);
      expect(c.buffered()).to.deep.equal([]);
      const st = h.typeStatus(CDS);
      expect(st?.ackedVersion).to.equal(reply.version_info);
      expect(st?.ackedAt).to.be.a('string');
    });

    it('records a NACK in list(), keeps the last good version and does not resend', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.sotw();
      c.send({ type_url: CDS });
      const good = await c.next(CDS);
      c.ack(good);
      await h.acked(good);
      const ringHash = {
        ...mesh({ orders: ['10.0.0.1'] }),
        cluster: [{ ...edsCluster('orders'), lb_policy: 'RING_HASH' }],
      };
      h.cache.setSnapshot('g', Snapshot.fromObjects('2', ringHash));
      const bad = await c.next(CDS);
      expect(bad.version_info).to.not.equal(good.version_info);
      c.nack(bad, 'ring hash not supported', good.version_info);
      await h.waitForLog((r) => r.msg.startsWith('NACK'));
      c.send({ type_url: EDS, resource_names: ['orders'] });
      expect((await c.next()).type_url).to.equal(EDS);
      const st = h.typeStatus(CDS);
      expect(st?.ackedVersion).to.equal(good.version_info);
      expect(st?.lastNack).to.include({
        version: bad.version_info,
        nonce: bad.nonce,
        error: 'ring hash not supported',
      });
      expect(st?.lastNack?.at).to.be.a('string');
      // A later snapshot is pushed again.
      h.set('3', { orders: ['10.0.0.1'] });
      const fixed = await c.next(CDS);
      expect(fixed.version_info).to.equal(good.version_info);
    });

    it('flow control never delays a route update past the final CDS set without the cluster it stopped using', async () => {
      const put = (v: string, w: Record<string, number> | string): void =>
        h.cache.setSnapshot('g', Snapshot.fromObjects(v, splitMesh(w)));
      put('1', { orders: 50, users: 50 });
      const c = h.sotw();
      for (const [type, names] of SPLIT_SUBSCRIPTIONS) {
        c.send({ type_url: type, resource_names: [...names] });
        c.ack(await c.next(type));
      }
      put('2', { orders: 60, users: 40 });
      await c.next(RDS); // not ACKed: the next RDS push is paced
      put('3', 'orders');
      const seen: string[] = [];
      for (;;) {
        const r = await c.next();
        seen.push(`${r.type_url.split('.').pop()} ${[...r.names].sort().join(',')}`);
        if (r.type_url === CDS && !r.names.includes('users')) break;
      }
      // The union (orders, users) is what the client holds already; the route goes before the final set.
      expect(seen).to.deep.equal(['RouteConfiguration orders-route', 'Cluster orders']);
    });

    it('answers named requests with the intersection of requested and available names', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: LDS, resource_names: ['orders', 'ghost'] });
      const reply = await c.next(LDS);
      expect(reply.names).to.deep.equal(['orders']);
      expect(h.typeStatus(LDS)?.subscribed).to.deep.equal(['ghost', 'orders']);
      c.ack(reply);
      await h.acked(reply);
      h.set('2', { orders: ['10.0.0.1'], users: ['10.0.0.2'], ghost: [] });
      const later = await c.next(LDS);
      expect(later.names.sort()).to.deep.equal(['ghost', 'orders']);
    });

    it('serves everything for an explicit "*" along with names', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: LDS, resource_names: ['*', 'orders'] });
      expect((await c.next(LDS)).names.sort()).to.deep.equal(['orders', 'users']);
      expect(h.typeStatus(LDS)?.subscribed).to.deep.equal(['*', 'orders']);
    });

    it('treats an empty list as unsubscribe once names were sent (no legacy wildcard any more)', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: CDS, resource_names: ['orders'] });
      const named = await c.next(CDS);
      expect(named.names).to.deep.equal(['orders']);
      c.ack(named, []);
      await h.acked(named);
      h.set('2', { orders: ['10.0.0.9'], users: ['10.0.0.2'], payments: [] });
      c.send({ type_url: RDS, resource_names: ['orders-route'] });
      expect((await c.next()).type_url).to.equal(RDS);
      expect(h.typeStatus(CDS)?.subscribed).to.deep.equal([]);
    });

    it('sends names newly added to a subscription even when nothing changed', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: RDS, resource_names: ['orders-route'] });
      const first = await c.next(RDS);
      expect(first.names).to.deep.equal(['orders-route']);
      c.send({ type_url: RDS, resource_names: ['orders-route', 'users-route'], response_nonce: first.nonce });
      const second = await c.next(RDS);
      expect(second.names.sort()).to.deep.equal(['orders-route', 'users-route']);
      // Dropping a name needs no response.
      c.send({ type_url: RDS, resource_names: ['orders-route'], response_nonce: second.nonce });
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
    });

    it('answers LDS/CDS name changes at once, so the client learns which names do not exist', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: CDS, resource_names: ['orders', 'users'] });
      const both = await c.next(CDS);
      c.send({ type_url: CDS, resource_names: ['orders', 'users', 'ghost'], response_nonce: both.nonce });
      const again = await c.next(CDS);
      expect(again.names.sort()).to.deep.equal(['orders', 'users']);
      // Dropping a name needs no response either.
      c.send({ type_url: CDS, resource_names: ['orders'], response_nonce: again.nonce });
      c.send({ type_url: LDS, resource_names: ['orders'] });
      expect((await c.next()).type_url).to.equal(LDS);
      expect(c.buffered()).to.deep.equal([]);
    });

    it('remembers RDS/EDS names that do not exist yet and pushes them when they appear', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.sotw();
      c.send({ type_url: EDS, resource_names: ['payments'] });
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      h.set('2', { orders: ['10.0.0.1'], payments: ['10.0.0.3'] });
      const reply = await c.next(EDS);
      expect(reply.names).to.deep.equal(['payments']);
    });

    it('answers the first LDS/CDS request even when empty, but not an RDS request for nothing', async () => {
      h.cache.setSnapshot('g', Snapshot.fromObjects('0', {}));
      const c = h.sotw();
      c.send({ type_url: RDS, resource_names: ['nothing'] });
      c.send({ type_url: LDS });
      const reply = await c.next();
      expect(reply.type_url).to.equal(LDS);
      expect(reply.resources).to.deep.equal([]);
    });

    it('ignores requests carrying a stale nonce', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      c.send({ type_url: CDS });
      const first = await c.next(CDS);
      h.set('2', { orders: ['10.0.0.1'], users: ['10.0.0.2'], payments: [] });
      const second = await c.next(CDS);
      expect(second.nonce).to.not.equal(first.nonce);
      // Acks the first response while changing names: stale, ignored entirely.
      c.send({
        type_url: CDS,
        resource_names: ['orders'],
        response_nonce: first.nonce,
        version_info: first.version_info,
      });
      c.send({ type_url: EDS, resource_names: ['orders'] });
      expect((await c.next()).type_url).to.equal(EDS);
      expect(h.typeStatus(CDS)?.ackedVersion).to.equal('');
      c.send({
        type_url: CDS,
        resource_names: ['orders'],
        response_nonce: second.nonce,
        version_info: second.version_info,
      });
      expect((await c.next(CDS)).names).to.deep.equal(['orders']);
      expect(h.typeStatus(CDS)?.ackedVersion).to.equal(second.version_info);
    });

    it('pushes a changed snapshot in CDS, EDS, LDS, RDS order, only for requested types', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.sotw();
      c.send({ type_url: CDS });
      c.ack(await c.next(CDS));
      c.send({ type_url: EDS, resource_names: ['orders', 'users'] });
      c.ack(await c.next(EDS));
      c.send({ type_url: LDS });
      c.ack(await c.next(LDS));
      c.send({ type_url: RDS, resource_names: ['orders-route', 'users-route'] });
      c.ack(await c.next(RDS));
      h.set('2', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const order = [];
      for (let i = 0; i < 4; i++) {
        const r = await c.next();
        order.push(r.type_url);
        // LDS/CDS carry the whole set; RDS/EDS only what changed (the new users resource).
        const full = r.type_url === CDS || r.type_url === LDS;
        expect(r.names, r.type_url).to.deep.equal(
          full ? ['orders', 'users'] : [r.type_url === EDS ? 'users' : 'users-route'],
        );
      }
      expect(order).to.deep.equal([CDS, EDS, LDS, RDS]);
    });

    it('removes listeners and clusters only after the new config is in place (make before break)', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.sotw();
      for (const [type, names] of [
        [CDS, []],
        [EDS, ['orders', 'users']],
        [LDS, []],
        [RDS, ['orders-route', 'users-route']],
      ] as const) {
        c.send({ type_url: type, resource_names: [...names] });
        c.ack(await c.next(type));
      }
      // Users disappears; orders moves to ring hash and to new endpoints.
      const next = mesh({ orders: ['10.0.0.9'] });
      next.cluster = [{ ...edsCluster('orders'), lb_policy: 'RING_HASH' }];
      h.cache.setSnapshot('g', Snapshot.fromObjects('2', next));
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const r = await c.next();
        seen.push(`${r.type_url.split('.').pop()}:${[...r.names].sort().join(',')}`);
      }
      expect(seen).to.deep.equal([
        'Cluster:orders,users', // union: the changed orders plus the removed users, still present
        'ClusterLoadAssignment:orders',
        'Listener:orders', // final listener set
        'Cluster:orders', // final cluster set, after the listeners
      ]);
      expect(c.buffered()).to.deep.equal([]);
    });

    it('never sends a type the client did not request', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.sotw();
      c.send({ type_url: LDS });
      c.ack(await c.next(LDS));
      h.set('2', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      expect((await c.next()).type_url).to.equal(LDS);
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      expect(c.buffered()).to.deep.equal([]);
    });

    it('waits for a snapshot when a group has none, asking the owner on first watch', async () => {
      let asked: (group: string) => void = () => {};
      const askedFor = new Promise<string>((resolve) => {
        asked = resolve;
      });
      const lazy = await new Harness(asked).start();
      try {
        const c = lazy.sotw();
        c.send({ type_url: CDS });
        expect(await askedFor).to.equal('g');
        // The owner answers later; the pending request is served then.
        lazy.set('1', { orders: [] });
        expect((await c.next(CDS)).names).to.deep.equal(['orders']);
      } finally {
        await lazy.close();
      }
    });
  });

  describe('delta', () => {
    it('serves a legacy wildcard with per-resource versions and the snapshot version', async () => {
      const snap = h.set('7', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.delta();
      c.send({ type_url: CDS });
      const reply = await c.next(CDS);
      expect(reply.system_version_info).to.equal('7');
      expect(reply.names.sort()).to.deep.equal(['orders', 'users']);
      for (const r of reply.resources) {
        expect(r.version).to.equal(snap.resources('cluster').get(r.name)?.version);
        expect(r.resource.type_url).to.equal(CDS);
      }
      expect(reply.removed_resources).to.deep.equal([]);
      expect(h.server.list()[0]?.protocol).to.equal('delta');
      expect(h.typeStatus(CDS)?.subscribed).to.deep.equal(['*']);
    });

    it('answers an empty wildcard first request, and no ACK resends', async () => {
      h.cache.setSnapshot('g', Snapshot.fromObjects('0', {}));
      const c = h.delta();
      c.send({ type_url: LDS });
      const reply = await c.next(LDS);
      expect(reply.resources).to.deep.equal([]);
      c.ack(reply);
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      expect(h.typeStatus(LDS)?.ackedVersion).to.equal(h.typeStatus(LDS)?.sentVersion);
    });

    it('sends only the delta of named subscriptions and honours unsubscribe', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.delta();
      c.send({ type_url: EDS, subscribe: ['orders'] });
      const first = await c.next(EDS);
      expect(first.names).to.deep.equal(['orders']);
      c.send({ type_url: EDS, subscribe: ['users'], response_nonce: first.nonce });
      const second = await c.next(EDS);
      expect(second.names).to.deep.equal(['users']);
      c.send({ type_url: EDS, unsubscribe: ['orders'], response_nonce: second.nonce });
      await h.acked(second);
      h.set('2', { orders: ['10.0.0.9'], users: ['10.0.0.2'] });
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      expect(h.typeStatus(EDS)?.subscribed).to.deep.equal(['users']);
    });

    it('tells the client a named resource does not exist, then sends it when it appears', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.delta();
      c.send({ type_url: RDS, subscribe: ['payments-route'] });
      const absent = await c.next(RDS);
      expect(absent.resources).to.deep.equal([]);
      expect(absent.removed_resources).to.deep.equal(['payments-route']);
      c.ack(absent);
      h.set('2', { orders: ['10.0.0.1'], payments: [] });
      const arrived = await c.next(RDS);
      expect(arrived.names).to.deep.equal(['payments-route']);
    });

    it('records NACKs without resending, and pushes the next change', async () => {
      h.set('1', { orders: ['10.0.0.1'] });
      const c = h.delta();
      c.send({ type_url: EDS, subscribe: ['orders'] });
      const good = await c.next(EDS);
      c.ack(good);
      await h.acked(good);
      h.set('2', { orders: ['10.0.0.2'] });
      const bad = await c.next(EDS);
      c.nack(bad, 'bad endpoints');
      await h.waitForLog((r) => r.msg.startsWith('NACK'));
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      const st = h.typeStatus(EDS);
      expect(st?.lastNack).to.include({ nonce: bad.nonce, error: 'bad endpoints' });
      expect(st?.ackedVersion).to.not.equal(st?.lastNack?.version);
      h.set('3', { orders: ['10.0.0.3'] });
      expect((await c.next(EDS)).names).to.deep.equal(['orders']);
    });

    it('puts removals in separate responses after every addition and update', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.delta();
      for (const [type, names] of [
        [CDS, []],
        [EDS, ['orders', 'users']],
        [LDS, []],
        [RDS, ['orders-route', 'users-route']],
      ] as const) {
        c.send({ type_url: type, subscribe: [...names] });
        c.ack(await c.next(type));
      }
      const next = mesh({ orders: ['10.0.0.9'], payments: ['10.0.0.5'] });
      h.cache.setSnapshot('g', Snapshot.fromObjects('2', next));
      const seen = [];
      for (let i = 0; i < 7; i++) {
        const r = await c.next();
        const kind = r.type_url.split('.').pop();
        seen.push(`${kind} +${[...r.names].sort().join(',')} -${r.removed_resources.join(',')}`);
      }
      expect(seen).to.deep.equal([
        'Cluster +payments -',
        'ClusterLoadAssignment +orders -',
        'Listener +payments -',
        'RouteConfiguration + -users-route',
        'Listener + -users',
        'ClusterLoadAssignment + -users',
        'Cluster + -users',
      ]);
    });

    it('flow control never delays a route update past the removal of the cluster it stopped using', async () => {
      const put = (v: string, w: Record<string, number> | string): void =>
        h.cache.setSnapshot('g', Snapshot.fromObjects(v, splitMesh(w)));
      put('1', { orders: 50, users: 50 });
      const c = h.delta();
      for (const [type, names] of SPLIT_SUBSCRIPTIONS) {
        c.send({ type_url: type, subscribe: [...names] });
        c.ack(await c.next(type));
      }
      put('2', { orders: 60, users: 40 });
      const inFlight = await c.next(RDS); // not ACKed: the next RDS push is paced
      expect(inFlight.names).to.deep.equal(['orders-route']);
      put('3', 'orders');
      const seen: string[] = [];
      for (;;) {
        const r = await c.next();
        seen.push(`${r.type_url.split('.').pop()} +${r.names.join(',')} -${r.removed_resources.join(',')}`);
        if (r.type_url === CDS && r.removed_resources.includes('users')) break;
      }
      expect(seen).to.deep.equal([
        'RouteConfiguration +orders-route -',
        'ClusterLoadAssignment + -users',
        'Cluster + -users',
      ]);
    });

    it('applies subscriptions even with a stale nonce, without recording an ACK', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'], payments: ['10.0.0.3'] });
      const c = h.delta();
      c.send({ type_url: EDS, subscribe: ['orders'] });
      const first = await c.next(EDS);
      // A request that answers nothing is served at once, even with a response in flight.
      c.send({ type_url: EDS, subscribe: ['users'] });
      const second = await c.next(EDS);
      expect(second.names).to.deep.equal(['users']);
      c.send({ type_url: EDS, subscribe: ['payments'], response_nonce: first.nonce });
      const third = await c.next(EDS);
      expect(third.names).to.deep.equal(['payments']);
      expect(h.typeStatus(EDS)?.ackedVersion).to.equal('');
      expect(new Set([first.nonce, second.nonce, third.nonce]).size).to.equal(3);
    });

    it('on reconnect, skips resources the client already has and removes the ones that are gone', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const before = h.delta();
      before.send({ type_url: CDS });
      const had = await before.next(CDS);
      before.close();
      const versions = Object.fromEntries(had.resources.map((r) => [r.name, r.version]));
      h.set('2', { orders: ['10.0.0.1'], payments: ['10.0.0.3'] });
      const after = h.delta();
      after.send({ type_url: CDS, initial_resource_versions: { ...versions, stale: 'x' } });
      const reply = await after.next(CDS);
      expect(reply.names).to.deep.equal(['payments']);
      expect(reply.removed_resources.sort()).to.deep.equal(['stale', 'users']);
    });

    it('supports an explicit "*" next to names, and unsubscribing from it', async () => {
      h.set('1', { orders: ['10.0.0.1'], users: ['10.0.0.2'] });
      const c = h.delta();
      c.send({ type_url: LDS, subscribe: ['*', 'orders'] });
      const all = await c.next(LDS);
      expect(all.names.sort()).to.deep.equal(['orders', 'users']);
      c.send({ type_url: LDS, unsubscribe: ['*'], response_nonce: all.nonce });
      await h.acked(all);
      h.set('2', { orders: ['10.0.0.1'], users: ['10.0.0.2'], payments: [] });
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      expect(h.typeStatus(LDS)?.subscribed).to.deep.equal(['orders']);
    });
  });

  describe('robustness', () => {
    for (const protocol of ['sotw', 'delta'] as const) {
      it(`${protocol}: closes a stream whose first request has no node with INVALID_ARGUMENT`, async () => {
        h.set('1', { orders: [] });
        if (protocol === 'sotw') {
          const c = h.sotw(null);
          c.send({ type_url: CDS });
          expect((await c.status).code).to.equal(status.INVALID_ARGUMENT);
        } else {
          const c = h.delta(null);
          c.send({ type_url: CDS });
          expect((await c.status).code).to.equal(status.INVALID_ARGUMENT);
        }
        expect(h.server.list()).to.deep.equal([]);
      });

      it(`${protocol}: survives garbage bytes and keeps serving`, async () => {
        h.set('1', { orders: [] });
        const raw = h.raw(protocol);
        raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
        expect((await raw.status).code).to.equal(status.INVALID_ARGUMENT);
        const c = h.sotw();
        c.send({ type_url: CDS });
        expect((await c.next(CDS)).names).to.deep.equal(['orders']);
      });
    }

    it('ignores an unknown type URL and keeps the stream', async () => {
      h.set('1', { orders: [] });
      const c = h.sotw();
      c.send({ type_url: 'type.googleapis.com/example.Unknown' });
      c.send({ type_url: CDS });
      expect((await c.next()).type_url).to.equal(CDS);
      await h.waitForLog((r) => r.msg.includes('unknown type URL'));
      const d = h.delta();
      d.send({ type_url: '' });
      d.send({ type_url: LDS });
      expect((await d.next()).type_url).to.equal(LDS);
    });
  });
});

describe('xDS conformance: per-sidecar socket listeners from the control plane', () => {
  let cp: ControlPlane;
  const clients: { close(): void }[] = [];
  const address = (): string => `127.0.0.1:${cp.xdsInsecurePort}`;
  const svc = (name: string, port: number, protocol: 'HTTP' | 'TCP'): ServiceResource => ({
    apiVersion: 'trellis.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ name: 'p', port, protocol }] },
  });
  const sidecarNode = (id: string, extra: Record<string, string>): NodeSpec => ({
    id,
    metadata: { TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'orders', TRELLIS_ADDRESS: '10.0.0.5', ...extra },
  });
  /** Socket listeners (not api_listeners) of a reply: name → bound address:port. */
  const socketListeners = (resources: { type_url: string; value: Uint8Array }[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const any of resources) {
      const l = decodeAny(any) as { name: string; address?: { socket_address: Record<string, unknown> } };
      if (l.address) out[l.name] = `${l.address.socket_address['address']}:${l.address.socket_address['port_value']}`;
    }
    return out;
  };

  beforeEach(async () => {
    const store = new MemoryStore();
    cp = await ControlPlane.start({
      store,
      logger: pino({ level: 'silent' }),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      xdsInsecurePort: 0,
      announcements: { allowPlaintext: true, address: 'any' },
      apiHost: '127.0.0.1',
      apiPort: 0,
      endpointGraceMs: 0,
    });
    await store.commit({ put: [svc('orders', 8080, 'HTTP'), svc('redis', 6379, 'TCP')], delete: [] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cp.stop(500);
  });

  it('SotW: each sidecar node receives the listeners its metadata asks for', async () => {
    const a = new SotwClient(
      address(),
      sidecarNode('a', {
        TRELLIS_APP_PORT: '8080',
        TRELLIS_PORT: '15106',
        TRELLIS_OUTBOUND_PORT: '15101',
        TRELLIS_TCP_UPSTREAMS: 'redis:6379=16379',
      }),
    );
    const b = new SotwClient(
      address(),
      sidecarNode('b', { TRELLIS_APP_PORT: '9000', TRELLIS_INBOUND_ADDRESS: '10.0.0.6' }),
    );
    clients.push(a, b);
    a.send({ type_url: LDS });
    b.send({ type_url: LDS });
    expect(socketListeners((await a.next(LDS)).resources)).to.deep.equal({
      inbound: '0.0.0.0:15106',
      outbound: '127.0.0.1:15101',
      'outbound-tcp|redis|6379': '127.0.0.1:16379',
    });
    expect(socketListeners((await b.next(LDS)).resources)).to.deep.equal({
      inbound: '10.0.0.6:15006',
      outbound: '127.0.0.1:15001',
    });
    a.send({ type_url: RDS, resource_names: ['outbound'] });
    const rds = await a.next(RDS);
    expect(rds.names).to.deep.equal(['outbound']);
    a.send({ type_url: CDS });
    expect((await a.next(CDS)).names).to.include('inbound|8080');
  });

  it('Delta: a sidecar gets its listeners; a proxyless client on the same server gets none', async () => {
    const d = new DeltaClient(address(), sidecarNode('d', { TRELLIS_APP_PORT: '8080' }));
    const g = new DeltaClient(address(), { id: 'grpc-client' });
    clients.push(d, g);
    d.send({ type_url: LDS });
    g.send({ type_url: LDS });
    expect(socketListeners((await d.next(LDS)).resources.map((r) => r.resource))).to.deep.equal({
      inbound: '0.0.0.0:15006',
      outbound: '127.0.0.1:15001',
    });
    const grpc = await g.next(LDS);
    expect(socketListeners(grpc.resources.map((r) => r.resource))).to.deep.equal({});
    expect(grpc.names).to.include('orders');
  });
});
