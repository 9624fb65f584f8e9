// The sidecar's xDS client against the real control plane (Delta and SotW): its own listeners, live changes,
// failover between control planes, and NACKs of what it cannot honour (with a fake server built from the
// control plane's XdsServer + SnapshotCache), over real gRPC streams on 127.0.0.1.
import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import pino, { type Logger } from 'pino';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import { SnapshotCache } from '../control-plane/src/cache/snapshot-cache.ts';
import type { TranslatedResources } from '../control-plane/src/cache/translated-resources.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import type { Protocol, Resource, ServiceResource, StaticEndpoint } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import { XdsServer } from '../control-plane/src/xds/server.ts';
import type { SidecarConfig } from '../sidecar/src/config/model.ts';
import { type NodeOptions, XdsClient } from '../sidecar/src/xds/xds-client.ts';

type LogRecord = Record<string, unknown> & { level: number; msg: string };
type Obj = Record<string, unknown>;

/** A pino logger whose records can be awaited. */
class LogTap {
  readonly records: LogRecord[] = [];
  readonly #events = new EventEmitter();
  readonly logger: Logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        const record = JSON.parse(line) as LogRecord;
        this.records.push(record);
        this.#events.emit('log', record);
      },
    },
  );

  /** The first record (past or future) matching, or a rejection after a bounded wait. */
  waitFor(match: (r: LogRecord) => boolean, what: string, timeoutMs = 5000): Promise<LogRecord> {
    const past = this.records.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const onLog = (r: LogRecord): void => {
        if (!match(r)) return;
        clearTimeout(timer);
        this.#events.off('log', onLog);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#events.off('log', onLog);
        reject(new Error(`no log record "${what}" within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#events.on('log', onLog);
    });
  }
}

/** Resolves with the client's config once `ok` holds for it (now or after a later change). */
function configWhere(client: XdsClient, ok: (c: SidecarConfig) => boolean, what: string, timeoutMs = 5000) {
  return new Promise<SidecarConfig>((resolve, reject) => {
    if (ok(client.current())) {
      resolve(client.current());
      return;
    }
    const timer = setTimeout(() => {
      off();
      reject(new Error(`config never had ${what} within ${timeoutMs}ms`));
    }, timeoutMs);
    const off = client.onChange((c) => {
      if (!ok(c)) return;
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}

const service = (
  name: string,
  port: number,
  protocol: Protocol,
  endpoints: StaticEndpoint[] = [],
): ServiceResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ name: 'p', port, protocol }], endpoints },
});

const MESH: Resource[] = [
  service('orders', 8080, 'HTTP'),
  service('payments', 50051, 'GRPC', [{ address: '10.0.1.1', port: 50051 }]),
  service('redis', 6379, 'TCP', [{ address: '10.0.2.1', port: 6379 }]),
];

const NODE: NodeOptions = {
  id: 'orders-1',
  cluster: 'orders',
  zone: 'z1',
  metadata: {
    TRELLIS_PROXY: 'sidecar',
    TRELLIS_SERVICE: 'orders',
    TRELLIS_ADDRESS: '10.0.0.5',
    TRELLIS_PORT: '15006',
    TRELLIS_APP_PORT: '8080',
    TRELLIS_TCP_UPSTREAMS: 'redis:6379=16379',
    TRELLIS_LABELS: { version: 'v1' },
  },
};

describe('sidecar xDS client', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function controlPlane(resources: Resource[] = MESH): Promise<{ cp: ControlPlane; store: MemoryStore }> {
    const store = new MemoryStore();
    const cp = await ControlPlane.start({
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
    cleanups.push(() => cp.stop(100));
    await store.commit({ put: resources, delete: [] });
    return { cp, store };
  }

  function client(servers: string[], protocol: 'delta' | 'sotw', tap = new LogTap(), node = NODE): XdsClient {
    const c = new XdsClient({ servers, node, protocol, logger: tap.logger, backoff: { initialMs: 20, maxMs: 200 } });
    cleanups.push(() => c.stop());
    c.start();
    return c;
  }

  for (const protocol of ['delta', 'sotw'] as const) {
    describe(protocol, () => {
      it('receives its listeners and the routes, clusters and endpoints they use', async () => {
        const { cp } = await controlPlane();
        const c = client([`127.0.0.1:${cp.xdsInsecurePort}`], protocol);
        await c.ready();
        const config = c.current();
        expect([...config.listeners.keys()]).to.deep.equal(['inbound', 'outbound', 'outbound-tcp|redis|6379']);
        const outbound = config.listeners.get('outbound');
        expect(outbound).to.deep.include({ address: '127.0.0.1', port: 15001, direction: 'outbound' });
        expect(outbound?.filter.type === 'http' && outbound.filter.http.routeConfigName).to.equal('outbound');
        const inbound = config.listeners.get('inbound');
        expect(inbound).to.deep.include({ address: '0.0.0.0', port: 15006, direction: 'inbound' });
        expect(inbound?.filter.type === 'http' && inbound.filter.http.routeConfig?.name).to.equal('inbound|orders');
        const tcp = config.listeners.get('outbound-tcp|redis|6379');
        expect(tcp?.filter).to.deep.include({ type: 'tcp' });
        const vhosts = config.routes.get('outbound')?.virtualHosts ?? [];
        expect(vhosts.map((v) => v.name)).to.deep.equal(['orders:8080', 'payments:50051', 'redis:6379']);
        expect(vhosts[0]?.routes[0]?.match.path).to.deep.equal({ kind: 'connect' });
        expect(config.clusters.get('inbound|8080')).to.deep.include({ discovery: 'static', protocol: 'http1' });
        expect(config.clusters.get('payments|50051')).to.deep.include({ discovery: 'eds', protocol: 'http2' });
        // Its own announced endpoint (TRELLIS_ADDRESS:TRELLIS_PORT) joins its service's assignment.
        const ordersEndpoints = (cfg: SidecarConfig) =>
          (cfg.endpoints.get('orders|8080')?.localities.flatMap((l) => l.endpoints) ?? []).map(
            (e) => `${e.address}:${e.port}`,
          );
        const withSelf = await configWhere(c, (cfg) => ordersEndpoints(cfg).length > 0, 'its own endpoint');
        expect(ordersEndpoints(withSelf)).to.deep.equal(['10.0.0.5:15006']);
        expect(c.status()).to.deep.equal({ connected: true, server: `127.0.0.1:${cp.xdsInsecurePort}` });

        const admin = new AdminClient(`127.0.0.1:${cp.apiPort}`);
        cleanups.push(() => admin.close());
        const [proxy] = (await admin.proxyStatus()).proxies;
        expect(proxy?.client_kind).to.equal('sidecar');
        expect(proxy?.protocol).to.equal(protocol);
        for (const t of proxy?.types ?? []) expect(t.last_nack, t.type_url).to.equal(null);
        const lds = proxy?.types.find((t) => t.type_url.endsWith('Listener'));
        expect(lds?.acked_version).to.equal(lds?.sent_version);
        const dump = c.dump() as { types: { typeUrl: string; resources: { name: string }[] }[] };
        const ldsDump = dump.types.find((t) => t.typeUrl.endsWith('Listener'));
        expect(ldsDump?.resources.map((r) => r.name)).to.include.members(['inbound', 'orders', 'orders:8080']);
      });

      it('applies a live change, keeping unchanged resources as they were', async () => {
        const { cp, store } = await controlPlane();
        const c = client([`127.0.0.1:${cp.xdsInsecurePort}`], protocol);
        await c.ready();
        const before = c.current();
        await store.commit({
          put: [service('billing', 7000, 'HTTP', [{ address: '10.0.3.1', port: 7000 }])],
          delete: [],
        });
        const after = await configWhere(c, (cfg) => cfg.endpoints.has('billing|7000'), 'billing endpoints');
        const domains = after.routes.get('outbound')?.virtualHosts.map((v) => v.domains[0]);
        expect(domains).to.include('billing:7000');
        expect(after.clusters.get('payments|50051')).to.equal(before.clusters.get('payments|50051'));
        await store.commit({ put: [], delete: [{ kind: 'Service', name: 'redis' }] });
        const gone = await configWhere(c, (cfg) => !cfg.clusters.has('redis|6379'), 'redis removed');
        expect(gone.endpoints.has('redis|6379')).to.equal(false);
        // The TCP upstream listener stays (its port is the app's contract); its cluster is simply missing.
        expect(gone.listeners.has('outbound-tcp|redis|6379')).to.equal(true);
      });

      it('fails over to the next control plane and converges on its config', async () => {
        const first = await controlPlane();
        const second = await controlPlane();
        const tap = new LogTap();
        const a = `127.0.0.1:${first.cp.xdsInsecurePort}`;
        const b = `127.0.0.1:${second.cp.xdsInsecurePort}`;
        const c = client([a, b], protocol, tap);
        await c.ready();
        const served = c.current();
        expect(c.status().server).to.equal(a);
        await first.cp.stop(50);
        await tap.waitFor((r) => r.msg.startsWith('xDS stream ended'), 'stream ended');
        expect(c.current()).to.equal(served); // keeps serving the last config while disconnected
        await second.store.commit({ put: [service('billing', 7000, 'HTTP')], delete: [] });
        await configWhere(c, (cfg) => cfg.clusters.has('billing|7000'), 'billing from the second control plane');
        expect(c.status()).to.deep.equal({ connected: true, server: b });
        expect(c.current().listeners.get('outbound')).to.equal(served.listeners.get('outbound'));
      });
    });
  }
});

/** A hand-fed xDS server: the control plane's XdsServer over a SnapshotCache with one group. */
class FakeControlPlane {
  readonly tap = new LogTap();
  readonly cache = new SnapshotCache({ groupOf: () => 'g' });
  readonly server = new XdsServer({ cache: this.cache, logger: this.tap.logger });
  address = '';

  async start(): Promise<this> {
    this.address = `127.0.0.1:${await this.server.listen('127.0.0.1', 0)}`;
    return this;
  }

  set(version: string, resources: Partial<TranslatedResources>): void {
    this.cache.setSnapshot('g', Snapshot.fromObjects(version, resources));
  }
}

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function listener(name: string, port: number, typedConfig: Obj): Obj {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'f', typed_config: typedConfig }] }],
  };
}

function rdsListener(name: string, port: number, route: string): Obj {
  return listener(name, port, {
    '@type': HCM,
    stat_prefix: name,
    rds: { route_config_name: route, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
  });
}

/** One listener → route → EDS cluster → endpoints chain. */
function chain(route: string): Partial<TranslatedResources> {
  return {
    listener: [rdsListener('outbound', 15001, route)],
    route: [
      {
        name: route,
        virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }],
      },
    ],
    cluster: [
      {
        name: 'c',
        type: 'EDS',
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'c' },
      },
    ],
    endpoint: [
      {
        cluster_name: 'c',
        endpoints: [
          { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] },
        ],
      },
    ],
  };
}

describe('sidecar xDS client against a hand-fed server', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fake(): Promise<FakeControlPlane> {
    const f = await new FakeControlPlane().start();
    cleanups.push(() => f.server.close(100));
    return f;
  }

  function client(servers: string[], protocol: 'delta' | 'sotw', tap = new LogTap()): XdsClient {
    const c = new XdsClient({
      servers,
      node: NODE,
      protocol,
      logger: tap.logger,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    cleanups.push(() => c.stop());
    c.start();
    return c;
  }

  for (const protocol of ['delta', 'sotw'] as const) {
    it(`${protocol}: NACKs a listener it cannot honour and keeps serving the previous config`, async () => {
      const f = await fake();
      f.set('1', chain('r'));
      const c = client([f.address], protocol);
      await c.ready();
      const good = c.current();
      const bad = listener('redis', 16379, { '@type': ROUTER });
      f.set('2', { ...chain('r'), listener: [rdsListener('outbound', 15001, 'r'), bad] });
      await f.tap.waitFor((r) => r.msg.startsWith('NACK'), 'server recorded a NACK');
      const lds = f.server.list()[0]?.types.find((t) => t.typeUrl.endsWith('Listener'));
      expect(lds?.lastNack?.error).to.equal(
        'listener redis: filter_chains[0].filters[0].typed_config: unsupported network filter envoy.extensions.filters.http.router.v3.Router',
      );
      expect(lds?.ackedVersion).to.not.equal(lds?.lastNack?.version);
      expect(c.current()).to.equal(good);
      expect(c.status().lastNack).to.match(/Listener: listener redis: .*unsupported network filter/);
      // The next good config is accepted.
      f.set('3', chain('r2'));
      await configWhere(c, (cfg) => cfg.routes.has('r2'), 'route r2');
    });

    it(`${protocol}: follows the route names listeners reference, unsubscribing from the old ones`, async () => {
      const f = await fake();
      f.set('1', chain('r1'));
      const c = client([f.address], protocol);
      await c.ready();
      f.set('2', chain('r2'));
      const cfg = await configWhere(c, (x) => x.routes.has('r2'), 'route r2');
      expect([...cfg.routes.keys()]).to.deep.equal(['r2']);
      const rds = () => f.server.list()[0]?.types.find((t) => t.typeUrl.endsWith('RouteConfiguration'));
      await f.tap.waitFor(() => rds()?.subscribed.join(',') === 'r2', 'RDS subscription r2 only');
    });
  }

  it('delta: on failover, sends initial_resource_versions so nothing it has is sent again', async () => {
    const a = await fake();
    const b = await fake();
    for (const f of [a, b]) f.set('1', chain('r'));
    const tap = new LogTap();
    const c = client([a.address, b.address], 'delta', tap);
    await c.ready();
    const before = c.current();
    await a.server.close(0);
    await tap.waitFor((r) => r.msg === 'connected to the xDS server' && r['server'] === b.address, 'connected to b');
    await b.tap.waitFor((r) => r.msg === 'ACK' && String(r['typeUrl']).endsWith('Listener'), 'b: LDS ACK');
    await b.tap.waitFor((r) => r.msg === 'ACK' && String(r['typeUrl']).endsWith('Cluster'), 'b: CDS ACK');
    const responses = b.tap.records.filter((r) => r.msg === 'delta response');
    expect(responses.flatMap((r) => r['updated'] as string[])).to.deep.equal([]);
    expect(c.current()).to.equal(before);
    const subscribed = b.server.list()[0]?.types.map((t) => [t.typeUrl.split('.').pop(), t.subscribed.join(',')]);
    expect(subscribed).to.deep.include.members([
      ['Cluster', '*'],
      ['Listener', '*'],
    ]);
  });
});
