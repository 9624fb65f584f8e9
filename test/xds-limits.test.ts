// xDS server limits over real gRPC streams on 127.0.0.1: node and node-metadata bounds (refused, nothing kept), the
// request-size limit, release of everything a closed stream held, endpoint weights from node metadata, and
// rate-limited per-request warnings.
import { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { status } from '@grpc/grpc-js';
import { decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { pino } from 'pino';
import { mesh } from '../control-plane/src/cache/fixtures.ts';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import { SnapshotCache } from '../control-plane/src/cache/snapshot-cache.ts';
import { MAX_NODE_METADATA_BYTES, WARNING_BURST } from '../control-plane/src/common/limits.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import type { ServiceResource } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import type { ProxyEvent } from '../control-plane/src/xds/proxy-status.ts';
import { XdsServer } from '../control-plane/src/xds/server.ts';
import { type NodeSpec, SotwClient } from './helpers/ads-client.ts';

const { cluster: CDS, endpoint: EDS, listener: LDS } = TYPE_URLS;

type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** A pino logger whose lines land in `lines`, with a wait for a line to come. */
class CapturedLog {
  readonly lines: LogRecord[] = [];
  readonly #events = new EventEmitter();
  readonly logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        const record = JSON.parse(line) as LogRecord;
        this.lines.push(record);
        this.#events.emit('line', record);
      },
    },
  );

  named(msg: string): LogRecord[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  waitFor(match: (r: LogRecord) => boolean, timeoutMs = 5000): Promise<LogRecord> {
    const past = this.lines.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const onLine = (r: LogRecord): void => {
        if (!match(r)) return;
        clearTimeout(timer);
        this.#events.off('line', onLine);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#events.off('line', onLine);
        reject(new Error(`no matching log line within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#events.on('line', onLine);
    });
  }
}

/** Resolves once `n` events of `type` were reported by the tracker. */
function events(
  tracker: { onEvent(l: (e: ProxyEvent) => void): () => void },
  type: ProxyEvent['type'],
  n: number,
): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const stop = tracker.onEvent((e) => {
      if (e.type !== type || ++seen < n) return;
      stop();
      resolve();
    });
  });
}

/** Forces a full garbage collection (V8 flag set at run time; `gc` taken from a fresh context). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

describe('xDS server limits', () => {
  describe('node bounds', () => {
    let log: CapturedLog;
    let server: XdsServer;
    let address: string;
    const clients: SotwClient[] = [];

    beforeEach(async () => {
      log = new CapturedLog();
      const cache = new SnapshotCache({ groupOf: () => 'g' });
      server = new XdsServer({ cache, logger: log.logger });
      address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await server.close(500);
    });

    const open = (node: NodeSpec): SotwClient => {
      const c = new SotwClient(address, node);
      clients.push(c);
      c.send({ type_url: CDS });
      return c;
    };

    it('refuses 40 streams with 3.5 MB of node metadata with INVALID_ARGUMENT naming the limit; keeps nothing', async () => {
      const connected: ProxyEvent[] = [];
      server.onEvent((e) => connected.push(e));
      const big = 'm'.repeat(3_500_000);
      const streams = Array.from({ length: 40 }, (_, i) => open({ id: `big-${i}`, metadata: { TRELLIS_NOTE: big } }));
      const statuses = await Promise.all(streams.map((s) => s.status));
      for (const s of statuses) {
        expect(s.code).to.equal(status.INVALID_ARGUMENT);
        expect(s.details).to.match(
          /^node\.metadata is 350\d{4} bytes encoded, at most 65536 \(64 KiB, the control plane's node metadata limit\)$/,
        );
      }
      expect(server.list()).to.deep.equal([]);
      expect(connected).to.deep.equal([]);
      expect(log.named('proxy connected')).to.deep.equal([]);
    });

    it('accepts metadata just under its bound and refuses it just over', async () => {
      // One Struct entry with a 12-character key and a string value of L characters (3-byte lengths) is L + 26 bytes.
      const fits = 'x'.repeat(MAX_NODE_METADATA_BYTES - 26);
      const ok = open({ id: 'fits', metadata: { TRELLIS_NOTE: fits } });
      const over = open({ id: 'over', metadata: { TRELLIS_NOTE: `${fits}x` } });
      expect((await over.status).details).to.match(/^node\.metadata is 65537 bytes encoded, at most 65536 /);
      await log.waitFor((l) => l.msg === 'proxy connected' && l['node'] === 'fits');
      expect(server.list().map((p) => p.node.id)).to.deep.equal(['fits']);
      ok.close();
    });

    it('refuses a node above 128 KiB (here its cluster) naming the node limit', async () => {
      const s = open({ id: 'wide', cluster: 'c'.repeat(200_000) });
      const st = await s.status;
      expect([st.code, st.details]).to.deep.equal([
        status.INVALID_ARGUMENT,
        "node is 200012 bytes encoded, at most 131072 (128 KiB, the control plane's node limit)",
      ]);
      expect(server.list()).to.deep.equal([]);
    });

    it('ends a stream whose request passes 4 MiB with RESOURCE_EXHAUSTED before decoding it', async () => {
      const s = open({ id: 'huge', metadata: { TRELLIS_NOTE: 'h'.repeat(5_000_000) } });
      const st = await s.status;
      expect(st.code).to.equal(status.RESOURCE_EXHAUSTED);
      expect(st.details).to.match(/larger than max \(\d+ vs\.? 4194304\)/);
      expect(server.list()).to.deep.equal([]);
    });
  });

  describe('rate-limited warnings', () => {
    it('5,000 requests for unknown type URLs give the first lines and one summary, not 5,000 lines', async () => {
      const log = new CapturedLog();
      const cache = new SnapshotCache({ groupOf: () => 'g' });
      cache.setSnapshot('g', Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'] })));
      // An interval longer than the test: the summary comes when the server closes.
      const server = new XdsServer({ cache, logger: log.logger, warnings: { intervalMs: 60_000 } });
      const address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
      const c = new SotwClient(address, { id: 'noisy' });
      try {
        for (let i = 0; i < 5000; i++) c.send({ type_url: `type.googleapis.com/unknown.T${i}` });
        // Requests are handled in order: once the LDS reply comes, every unknown one was seen.
        c.send({ type_url: LDS });
        await c.next(LDS);
      } finally {
        c.close();
        await server.close(500);
      }
      const lines = log.named('ignoring request for an unknown type URL');
      expect(lines.map((l) => l['typeUrl'])).to.deep.equal([
        ...Array.from({ length: WARNING_BURST }, (_, i) => `type.googleapis.com/unknown.T${i}`),
        'type.googleapis.com/unknown.T4999',
      ]);
      expect(lines.at(-1)).to.include({ suppressed: 5000 - WARNING_BURST, intervalMs: 60_000, node: 'noisy' });
    });

    it('limits the warning for refused streams too (one per stream otherwise)', async () => {
      const log = new CapturedLog();
      const server = new XdsServer({
        cache: new SnapshotCache({ groupOf: () => 'g' }),
        logger: log.logger,
        warnings: { intervalMs: 60_000 },
      });
      const address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
      const streams = Array.from({ length: 50 }, () => new SotwClient(address, null));
      for (const s of streams) s.send({ type_url: CDS });
      const statuses = await Promise.all(streams.map((s) => s.status));
      for (const s of streams) s.close();
      await server.close(500);
      expect(statuses.every((s) => s.code === status.INVALID_ARGUMENT)).to.equal(true);
      const lines = log.named('closing ADS stream');
      expect(lines).to.have.length(WARNING_BURST + 1);
      expect(lines.at(-1)).to.include({ suppressed: 50 - WARNING_BURST });
    });
  });

  describe('in a control plane', () => {
    let cp: ControlPlane;
    let log: CapturedLog;
    const clients: SotwClient[] = [];
    const address = (): string => `127.0.0.1:${cp.xdsInsecurePort}`;
    const orders: ServiceResource = {
      apiVersion: 'trellis.dev/v1',
      kind: 'Service',
      metadata: { name: 'orders' },
      spec: { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
    };
    const sidecar = (id: string, meta: Record<string, string>): NodeSpec => ({
      id,
      metadata: { TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'orders', TRELLIS_PORT: '8080', ...meta },
    });
    const connect = (node: NodeSpec): SotwClient => {
      const c = new SotwClient(address(), node);
      clients.push(c);
      return c;
    };
    /** An observer's next EDS reply for orders|8080, as address → weight. */
    const endpointsOf = async (observer: SotwClient): Promise<Record<string, number>> => {
      const reply = await observer.next(EDS);
      // ACKed like a real client: the next EDS push waits for it.
      observer.ack(reply);
      const cla = decodeAny(reply.resources[0]!) as {
        endpoints?: {
          lb_endpoints?: {
            endpoint: { address: { socket_address: { address: string } } };
            load_balancing_weight?: { value: number };
          }[];
        }[];
      };
      const out: Record<string, number> = {};
      for (const locality of cla.endpoints ?? []) {
        for (const lb of locality.lb_endpoints ?? []) {
          out[lb.endpoint.address.socket_address.address] = lb.load_balancing_weight?.value ?? 1;
        }
      }
      return out;
    };
    /** A proxyless client watching the endpoints of orders|8080. */
    const observe = async (): Promise<SotwClient> => {
      const observer = connect({ id: 'observer' });
      observer.send({ type_url: EDS, resource_names: ['orders|8080'] });
      expect(await endpointsOf(observer)).to.deep.equal({});
      return observer;
    };

    beforeEach(async () => {
      log = new CapturedLog();
      const store = new MemoryStore();
      cp = await ControlPlane.start({
        store,
        logger: log.logger,
        xdsHost: '127.0.0.1',
        xdsPort: 0,
        xdsInsecurePort: 0,
        announcements: { allowPlaintext: true, address: 'any' },
        apiHost: '127.0.0.1',
        apiPort: 0,
        endpointGraceMs: 0,
      });
      await store.commit({ put: [orders], delete: [] });
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await cp.stop(500);
    });

    it('releases everything of closed streams with big-but-allowed metadata: proxies, endpoints, groups, nodes', async () => {
      const observer = await observe();
      const n = 20;
      const note = 'n'.repeat(60_000);
      const streams = Array.from({ length: n }, (_, i) =>
        // A distinct app port per sidecar: each reads its own snapshot group.
        connect(
          sidecar(`s-${i}`, { TRELLIS_ADDRESS: `10.0.1.${i}`, TRELLIS_APP_PORT: String(9000 + i), TRELLIS_NOTE: note }),
        ),
      );
      for (const s of streams) s.send({ type_url: LDS });
      await Promise.all(streams.map((s) => s.next(LDS)));
      let seen = await endpointsOf(observer);
      while (Object.keys(seen).length < n) seen = await endpointsOf(observer);
      expect(cp.publishedGroups()).to.have.length(n + 1);
      const nodes = cp.proxies
        .list()
        .filter((p) => p.node.id.startsWith('s-'))
        .map((p) => new WeakRef(p.node));
      expect(nodes).to.have.length(n);

      const gone = events(cp.proxies, 'disconnected', n);
      for (const s of streams) s.close();
      await gone;
      expect(cp.proxies.list().map((p) => p.node.id)).to.deep.equal(['observer']);
      while (Object.keys(seen).length > 0) seen = await endpointsOf(observer);
      expect(cp.publishedGroups()).to.deep.equal(['proxyless']);
      // Nothing else (registry, caches, loggers, telemetry, gRPC) holds a node once its stream is gone.
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      expect(nodes.filter((ref) => ref.deref() !== undefined)).to.have.length(0);
    });

    it('registers weights 1-128 from node metadata and rejects 0, 129 and 2^32-1 with a log line naming the field', async () => {
      const observer = await observe();
      // The last sidecar is a barrier: the first EDS reply holding it holds every registration before it.
      for (const [i, weight] of ['128', '0', '129', '4294967295', '1'].entries()) {
        const s = connect(sidecar(`w-${weight}`, { TRELLIS_ADDRESS: `10.0.2.${i}`, TRELLIS_WEIGHT: weight }));
        s.send({ type_url: CDS });
        await s.next(CDS);
      }
      let seen = await endpointsOf(observer);
      while (!('10.0.2.4' in seen)) seen = await endpointsOf(observer);
      expect(seen).to.deep.equal({ '10.0.2.0': 128, '10.0.2.4': 1 });
      const rejected = log.named('endpoint registration rejected');
      expect(rejected.map((l) => [l['node'], l['error']])).to.deep.equal([
        ['w-0', 'TRELLIS_WEIGHT: expected an integer from 1 to 128, got "0"'],
        ['w-129', 'TRELLIS_WEIGHT: expected an integer from 1 to 128, got "129"'],
        ['w-4294967295', 'TRELLIS_WEIGHT: expected an integer from 1 to 128, got "4294967295"'],
      ]);
      // The rejected proxies stay connected: they still get configuration.
      expect(cp.proxies.list()).to.have.length(6);
    });
  });
});
