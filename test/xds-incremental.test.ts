// Pushes in proportion to the change, over real gRPC streams against a real control plane: debounced bursts, EDS-only
// pushes to the subscribers of a cluster, slow proxies coalesced, reconnects with current versions, Apply off the
// publish path. The debounce is set far beyond the test's length and rounds are run with flush(): nothing is timed.
import { decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import pino from 'pino';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { resourceToMessage } from '../control-plane/src/api/messages.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import type { Resource, ServiceResource } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import { DeltaClient, type DeltaReply, type NodeSpec, SotwClient, type SotwReply } from './helpers/ads-client.ts';

const { cluster: CDS, endpoint: EDS, listener: LDS, route: RDS } = TYPE_URLS;
const NEVER = 3_600_000;

function service(name: string, ports: number[]): ServiceResource {
  return {
    apiVersion: 'trellis.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: ports.map((port) => ({ name: `p${port}`, port, protocol: 'HTTP' as const })) },
  };
}

/** A proxyless node announcing an endpoint of `svc` at 10.1.x.y:8080. */
function endpointNode(i: number, svc: string): NodeSpec {
  return {
    id: `ep-${svc}-${i}`,
    metadata: { TRELLIS_SERVICE: svc, TRELLIS_ADDRESS: `10.1.${i >> 8}.${i & 255}`, TRELLIS_PORT: '8080' },
  };
}

describe('xDS pushes proportional to the change', () => {
  let store: MemoryStore;
  let cp: ControlPlane;
  let clients: { close(): void }[] = [];
  let barriers = 0;
  const address = (): string => `127.0.0.1:${cp.xdsInsecurePort}`;
  const delta = (node: NodeSpec): DeltaClient => {
    const c = new DeltaClient(address(), node);
    clients.push(c);
    return c;
  };
  const sotw = (node: NodeSpec): SotwClient => {
    const c = new SotwClient(address(), node);
    clients.push(c);
    return c;
  };
  /** The replies a Delta stream got before a fresh request's answer (responses on a stream keep their order). */
  const deltaBarrier = async (c: DeltaClient): Promise<DeltaReply[]> => {
    const name = `barrier-${++barriers}`;
    c.send({ type_url: EDS, subscribe: [name] });
    const before: DeltaReply[] = [];
    for (;;) {
      const r = await c.next();
      // ACKed like a real client (RDS/EDS pushes wait for the answer to the one in flight).
      c.ack(r);
      if (r.removed_resources.includes(name)) return before;
      before.push(r);
    }
  };
  /** The same for SotW: a CDS request naming a fresh cluster is always answered (it ends a CDS wildcard). */
  const sotwBarrier = async (c: SotwClient): Promise<SotwReply[]> => {
    const name = `barrier-${++barriers}`;
    c.send({ type_url: CDS, resource_names: [name] });
    const before: SotwReply[] = [];
    for (;;) {
      const r = await c.next();
      c.ack(r);
      if (r.type_url === CDS && r.resources.length === 0 && before.every((b) => b.nonce !== r.nonce)) {
        // The barrier's answer is the first CDS reply with no resources after the request.
        return before;
      }
      before.push(r);
    }
  };
  const waitForProxies = async (n: number): Promise<void> => {
    if (cp.proxies.list().length >= n) return;
    await new Promise<void>((resolve) => {
      const off = cp.proxies.onEvent(() => {
        if (cp.proxies.list().length < n) return;
        off();
        resolve();
      });
    });
  };

  /** A control plane on a fresh store; rounds run only on flush(). */
  const start = async (
    extra: Pick<Parameters<typeof ControlPlane.start>[0], 'admission' | 'inFlight'> = {},
  ): Promise<void> => {
    store = new MemoryStore();
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
      debounceQuietMs: NEVER,
      debounceMaxMs: NEVER,
      ...extra,
    });
  };

  beforeEach(async () => {
    await start();
    await store.commit({ put: [service('orders', [8080]), service('payments', [9090])], delete: [] });
    cp.flush();
  });
  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    await cp.stop(500);
  });

  it('a burst of 100 endpoint joins within the quiet period gives one push per affected proxy', async () => {
    const orders = delta({ id: 'watch-orders' });
    const payments = delta({ id: 'watch-payments' });
    const sotwOrders = sotw({ id: 'sotw-orders' });
    orders.send({ type_url: EDS, subscribe: ['orders|8080'] });
    payments.send({ type_url: EDS, subscribe: ['payments|9090'] });
    sotwOrders.send({ type_url: EDS, resource_names: ['orders|8080'] });
    const [o, p, s] = await Promise.all([orders.next(EDS), payments.next(EDS), sotwOrders.next(EDS)]);
    orders.ack(o);
    payments.ack(p);
    sotwOrders.ack(s);

    for (let i = 0; i < 100; i++) delta(endpointNode(i, 'orders')).send({ type_url: CDS, subscribe: ['none'] });
    await waitForProxies(103);
    cp.flush();

    const got = await deltaBarrier(orders);
    expect(got.map((r) => [r.type_url, r.names])).to.deep.equal([[EDS, ['orders|8080']]]);
    const assignment = decodeAny(got[0]?.resources[0]?.resource ?? { type_url: EDS, value: new Uint8Array() }) as {
      endpoints: { lb_endpoints: unknown[] }[];
    };
    expect(assignment.endpoints.flatMap((l) => l.lb_endpoints)).to.have.length(100);
    expect(await deltaBarrier(payments)).to.deep.equal([]);
    const sotwGot = await sotwBarrier(sotwOrders);
    expect(sotwGot.map((r) => [r.type_url, r.names])).to.deep.equal([[EDS, ['orders|8080']]]);
  });

  it('an endpoint change reaches only the subscribers of its cluster, with only that resource', async () => {
    const all = delta({ id: 'all' });
    all.send({ type_url: CDS });
    all.send({ type_url: EDS, subscribe: ['orders|8080', 'payments|9090'] });
    all.send({ type_url: LDS });
    all.send({ type_url: RDS, subscribe: ['orders:8080', 'payments:9090'] });
    const pay = delta({ id: 'pay' });
    pay.send({ type_url: EDS, subscribe: ['payments|9090'] });
    const sotwAll = sotw({ id: 'sotw-all' });
    sotwAll.send({ type_url: LDS });
    sotwAll.send({ type_url: RDS, resource_names: ['orders:8080', 'payments:9090'] });
    sotwAll.send({ type_url: EDS, resource_names: ['orders|8080', 'payments|9090'] });
    // Drain the first configurations (answered in request order, so before the barriers' answers).
    await Promise.all([deltaBarrier(all), deltaBarrier(pay), sotwBarrier(sotwAll)]);

    delta(endpointNode(1, 'orders')).send({ type_url: CDS, subscribe: ['none'] });
    await waitForProxies(4);
    cp.flush();

    const got = await deltaBarrier(all);
    expect(got.map((r) => [r.type_url, r.names, r.removed_resources])).to.deep.equal([[EDS, ['orders|8080'], []]]);
    expect(await deltaBarrier(pay)).to.deep.equal([]);
    // SotW: an EDS response with only the changed assignment (RDS/EDS responses need not repeat the others).
    const sotwGot = await sotwBarrier(sotwAll);
    expect(sotwGot.map((r) => [r.type_url, r.names])).to.deep.equal([[EDS, ['orders|8080']]]);
    // Every proxy that got the change ACKed it (the barriers ACK): one endpoint convergence sample.
    const metrics = await cp.telemetry.metrics.render();
    expect(metrics).to.match(/^trellis_cp_endpoint_convergence_seconds_count 1$/m);
    expect(metrics).to.match(/^trellis_cp_convergence_seconds_count 0$/m);
  });

  it('flow control: an EDS push waits for the answer to the one in flight, then carries only the newest state', async () => {
    const watcher = delta({ id: 'unhurried' });
    watcher.send({ type_url: EDS, subscribe: ['orders|8080'] });
    const first = await watcher.next(EDS);
    for (let i = 0; i < 3; i++) {
      delta(endpointNode(i, 'orders')).send({ type_url: CDS, subscribe: ['none'] });
      await waitForProxies(2 + i);
      cp.flush();
    }
    // A CDS request is answered at once (CDS is not paced): nothing of EDS came before its answer.
    watcher.send({ type_url: CDS, subscribe: ['cds-barrier'] });
    const meanwhile: DeltaReply[] = [];
    for (;;) {
      const r = await watcher.next();
      if (r.type_url === CDS) break;
      meanwhile.push(r);
    }
    expect(meanwhile.map((r) => r.type_url)).to.deep.equal([]);
    watcher.ack(first);
    const newest = await watcher.next(EDS);
    const assignment = decodeAny(newest.resources[0]?.resource ?? { type_url: EDS, value: new Uint8Array() }) as {
      endpoints: { lb_endpoints: unknown[] }[];
    };
    expect(assignment.endpoints.flatMap((l) => l.lb_endpoints)).to.have.length(3);
    watcher.ack(newest);
    expect(await deltaBarrier(watcher)).to.deep.equal([]);
  });

  it('a connect storm waits on unanswered bytes: a new stream is served once earlier responses are answered', async () => {
    await cp.stop(0);
    // Any unanswered response fills the budget; none expires within the test.
    await start({ admission: { ratePerSecond: 0 }, inFlight: { budgetBytes: 1, ttlMs: NEVER } });
    await store.commit({ put: [service('orders', [8080])], delete: [] });
    cp.flush();
    const first = delta({ id: 'first' });
    first.send({ type_url: CDS });
    const got = await first.next(CDS);
    const second = delta({ id: 'second' });
    second.send({ type_url: CDS });
    await waitForProxies(2);
    const sentTo = (id: string): string =>
      cp.proxies
        .list()
        .find((p) => p.node.id === id)
        ?.types.find((t) => t.typeUrl === CDS)?.sentVersion ?? '';
    expect(sentTo('second'), 'connected and registered, not yet served').to.equal('');
    const metrics = await cp.telemetry.metrics.render();
    expect(metrics).to.match(/^trellis_cp_xds_admission_waiting 1$/m);
    expect(Number(/^trellis_cp_xds_inflight_bytes (\d+)$/m.exec(metrics)?.[1])).to.be.greaterThan(0);
    first.ack(got);
    const secondGot = await second.next(CDS);
    expect(secondGot.names).to.deep.equal(got.names);
  });

  it('pushes wait while the budget is spent, then the waiting stream gets the newest state in one response', async () => {
    await cp.stop(0);
    // Any unanswered response fills the budget; none expires within the test.
    await start({ admission: { ratePerSecond: 0 }, inFlight: { budgetBytes: 1, ttlMs: NEVER } });
    await store.commit({ put: [service('orders', [8080])], delete: [] });
    cp.flush();
    const holder = delta({ id: 'holder' });
    holder.send({ type_url: CDS });
    holder.ack(await holder.next(CDS));
    const spender = delta({ id: 'spender' });
    spender.send({ type_url: CDS });
    // Unanswered: the budget is spent from now on.
    const spent = await spender.next(CDS);
    const sentTo = (id: string): string =>
      cp.proxies
        .list()
        .find((p) => p.node.id === id)
        ?.types.find((t) => t.typeUrl === CDS)?.sentVersion ?? '';
    const held = sentTo('holder');

    for (const name of ['payments', 'shipping']) {
      await store.commit({ put: [service(name, [9090])], delete: [] });
      cp.flush();
    }
    expect(sentTo('holder'), 'its push waits for the budget').to.equal(held);
    // Both streams hold a configuration: both pushes wait, the holder's first (it was first to get the snapshot).
    expect(await cp.telemetry.metrics.render()).to.match(/^trellis_cp_xds_push_waiting 2$/m);

    spender.ack(spent);
    const got = await holder.next(CDS);
    expect(got.resources.map((r) => r.name).sort()).to.deep.equal(['payments|9090', 'shipping|9090']);
    holder.ack(got);
    // Nothing else was queued for it: the next reply is the barrier's.
    expect(await deltaBarrier(holder)).to.deep.equal([]);
    // The spender's turn comes once the budget is free again, with the same newest state.
    const late = await spender.next(CDS);
    expect(late.resources.map((r) => r.name).sort()).to.deep.equal(['payments|9090', 'shipping|9090']);
    spender.ack(late);
  });

  it('while new streams wait for their first configuration, pushes to served streams wait too', async () => {
    await cp.stop(0);
    // One token, refilled after the test: the second stream waits for admission for as long as the test needs.
    await start({ admission: { ratePerSecond: 1 / NEVER, burst: 1 } });
    await store.commit({ put: [service('orders', [8080])], delete: [] });
    cp.flush();
    const served = delta({ id: 'served' });
    served.send({ type_url: CDS });
    served.ack(await served.next(CDS));
    const queued = delta({ id: 'queued' });
    queued.send({ type_url: CDS });
    await waitForProxies(2);
    const metric = async (name: string): Promise<number> =>
      Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await cp.telemetry.metrics.render())?.[1]);
    expect(await metric('trellis_cp_xds_admission_waiting')).to.equal(1);

    await store.commit({ put: [service('payments', [9090])], delete: [] });
    cp.flush();
    expect(await metric('trellis_cp_xds_push_waiting'), 'the served stream waits behind the new one').to.equal(1);
    // The new stream goes away: nobody waits for admission, and the push goes out.
    queued.close();
    const got = await served.next(CDS);
    expect(got.resources.map((r) => r.name)).to.deep.equal(['payments|9090']);
  });

  it('a slow (non-reading) proxy does not delay others and then gets the newest state, not every one', async () => {
    const fast = sotw({ id: 'fast' });
    const slow = sotw({ id: 'slow' });
    fast.send({ type_url: CDS });
    slow.send({ type_url: CDS });
    fast.ack(await fast.next(CDS));
    slow.ack(await slow.next(CDS));
    slow.pause();
    const sentTo = (id: string): string =>
      cp.proxies
        .list()
        .find((p) => p.node.id === id)
        ?.types.find((t) => t.typeUrl === CDS)?.sentVersion ?? '';

    let rounds = 0;
    let behindAt = 0;
    let last: SotwReply | undefined;
    const ports = Array.from({ length: 20 }, (_, i) => 10_000 + i);
    while (rounds < 400 && (behindAt === 0 || rounds < behindAt + 5)) {
      rounds += 1;
      await store.commit({ put: [service(`service-with-a-rather-long-name-${rounds}`, ports)], delete: [] });
      cp.flush();
      // Every round reaches the reading proxy at once, however far behind the other one is.
      last = await fast.next(CDS);
      fast.ack(last);
      expect(last.names).to.include(`service-with-a-rather-long-name-${rounds}|10000`);
      if (behindAt === 0 && sentTo('slow') !== sentTo('fast')) behindAt = rounds;
    }
    expect(behindAt, 'the slow proxy fell behind').to.be.greaterThan(0);

    slow.resume();
    let received = 0;
    for (;;) {
      const r = await slow.next(CDS);
      received += 1;
      if (r.version_info === last?.version_info) break;
    }
    // It was sent what fitted before it stopped reading, then only the newest state.
    expect(received).to.be.lessThan(rounds);
  });

  it('a proxy reconnecting with the versions it holds receives no resources (Delta and SotW)', async () => {
    const types = [CDS, EDS, LDS, RDS];
    const subscribe: Record<string, string[]> = {
      [CDS]: [],
      [EDS]: ['orders|8080'],
      [LDS]: [],
      [RDS]: ['orders:8080'],
    };
    const first = delta({ id: 'again' });
    const versions: Record<string, Record<string, string>> = {};
    for (const t of types) first.send({ type_url: t, subscribe: subscribe[t] ?? [] });
    for (const t of types) {
      const r = await first.next(t);
      versions[t] = Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
      first.ack(r);
    }
    first.close();
    const again = delta({ id: 'again' });
    for (const t of types) {
      again.send({ type_url: t, subscribe: subscribe[t] ?? [], initial_resource_versions: versions[t] ?? {} });
    }
    const got = await deltaBarrier(again);
    expect(got.flatMap((r) => r.resources.map((x) => x.name))).to.deep.equal([]);

    const s1 = sotw({ id: 'again-sotw' });
    const held: Record<string, string> = {};
    for (const t of types) s1.send({ type_url: t, resource_names: subscribe[t] ?? [] });
    for (const t of types) {
      const r = await s1.next(t);
      held[t] = r.version_info;
      s1.ack(r);
    }
    s1.close();
    const s2 = sotw({ id: 'again-sotw' });
    for (const t of types) s2.send({ type_url: t, resource_names: subscribe[t] ?? [], version_info: held[t] ?? '' });
    expect(await sotwBarrier(s2)).to.deep.equal([]);
  });

  it('Apply returns once committed, before the publish round; convergence is measured from the apply', async () => {
    const watcher = delta({ id: 'watcher' });
    watcher.send({ type_url: CDS });
    watcher.ack(await watcher.next(CDS));
    const api = new AdminClient(`127.0.0.1:${cp.apiPort}`);
    try {
      const res = await api.apply({
        resources: [resourceToMessage(service('shipping', [7070]) as Resource)],
        dry_run: false,
      });
      expect(res.results.map((r) => r.action)).to.deep.equal(['created']);
      expect(store.get({ kind: 'Service', name: 'shipping' })).to.not.equal(undefined);
      // Committed, not yet published: the watcher has nothing new.
      expect(await deltaBarrier(watcher)).to.deep.equal([]);
      cp.flush();
      const pushed = await watcher.next(CDS);
      expect(pushed.names).to.deep.equal(['shipping|7070']);
      watcher.ack(pushed);
      await deltaBarrier(watcher);
      const metrics = await cp.telemetry.metrics.render();
      expect(metrics).to.match(/^trellis_cp_convergence_seconds_count 1$/m);
    } finally {
      api.close();
    }
  });
});
