// The operator API over real gRPC on 127.0.0.1: apply/get/list/delete/watch/dry-run, errors, reflection.

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { pino } from 'pino';
import protobuf from 'protobufjs';
import type { ApiCallInfo, ApiObserver } from '../control-plane/src/api/api-observer.ts';
import { AdminClient } from '../control-plane/src/api/client.ts';
import type { ResourceMessage, WatchEventMessage } from '../control-plane/src/api/messages.ts';
import { type ApiServer, startApiServer } from '../control-plane/src/api/server.ts';
import { MAX_WATCH_BACKLOG } from '../control-plane/src/api/watch.ts';
import { fromStruct, toStruct } from '../control-plane/src/common/struct.ts';
import { parseDocuments } from '../control-plane/src/resources/parse.ts';
import type { ServiceResource } from '../control-plane/src/resources/types.ts';
import { FileStore } from '../control-plane/src/store/file-store.ts';
import type { ProxyStatus, ProxyTracker } from '../control-plane/src/xds/proxy-status.ts';
import { ORDERS_YAML, route, service } from './fixtures/resources.ts';

const PROXY: ProxyStatus = {
  streamId: 's-1',
  node: {
    id: 'orders-1',
    cluster: 'orders',
    metadata: { TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'orders' },
    locality: { region: '', zone: 'a', sub_zone: '' },
    userAgentName: 'trellis-sidecar',
    userAgentVersion: '0.1.0',
    clientFeatures: [],
  },
  protocol: 'sotw',
  connectedAt: '2025-01-01T00:00:00.000Z',
  peer: '127.0.0.1:50000',
  types: [
    {
      typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener',
      sentVersion: '3',
      ackedVersion: '2',
      lastNack: { version: '3', nonce: 'n3', error: 'bad listener', at: '2025-01-01T00:00:01.000Z' },
      subscribed: ['*'],
    },
  ],
};

const FileDescriptorProto = protobuf.Root.fromJSON(
  createRequire(import.meta.url)('protobufjs/google/protobuf/descriptor.json') as protobuf.INamespace,
).lookupType('google.protobuf.FileDescriptorProto');

const stubTracker: ProxyTracker = { list: () => [PROXY], onEvent: () => () => undefined };

function toMessage(doc: unknown): ResourceMessage {
  const d = doc as { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };
  return {
    api_version: d.apiVersion,
    kind: d.kind,
    metadata: { name: d.metadata.name, labels: {}, generation: 0, created_at: '', updated_at: '' },
    spec: toStruct(d.spec),
  };
}

const ordersBatch = () => parseDocuments(ORDERS_YAML).documents.map((d) => toMessage(d.value));

/** The gRPC error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('operator API (gRPC)', () => {
  let dir: string;
  let store: FileStore;
  let server: ApiServer;
  let client: AdminClient;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-api-'));
    store = new FileStore(dir);
    await store.open();
    server = await startApiServer({
      store,
      proxies: stubTracker,
      logger: pino({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
    });
    client = new AdminClient(`127.0.0.1:${server.port}`);
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a batch, then reports unchanged and configured resources', async () => {
    const first = await client.apply({ resources: ordersBatch(), dry_run: false });
    expect(first.results.map((r) => `${r.kind}/${r.name} ${r.action}`)).to.deep.equal([
      'Service/orders created',
      'TrafficPolicy/orders created',
      'Route/orders created',
    ]);
    expect(first.revision).to.equal(1);
    const again = await client.apply({ resources: ordersBatch(), dry_run: false });
    expect(again.results.map((r) => r.action)).to.deep.equal(['unchanged', 'unchanged', 'unchanged']);
    expect(again.revision).to.equal(1);
    const changed = await client.apply({ resources: [toMessage(service('orders', 9090))], dry_run: false });
    expect(changed.results[0]?.action).to.equal('configured');
    const got = await client.get('svc', 'orders');
    expect(got.metadata?.generation).to.equal(2);
    expect(got.metadata?.created_at).to.match(/^\d{4}-/);
    expect(fromStruct(got.spec)).to.deep.equal(service('orders', 9090).spec);
  });

  it('lists by kind (aliases accepted) or everything', async () => {
    await client.apply({ resources: ordersBatch(), dry_run: false });
    expect((await client.list('routes')).resources.map((r) => r.kind)).to.deep.equal(['Route']);
    expect((await client.list()).resources.map((r) => r.kind)).to.deep.equal(['Service', 'Route', 'TrafficPolicy']);
    const bad = await failure(client.list('Deployment'));
    expect(bad.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).to.contain('unknown kind "Deployment"');
  });

  it('refuses a negative weight with the field path, storing nothing', async () => {
    const batch = ordersBatch();
    const routeDoc = parseDocuments(ORDERS_YAML).documents[2]!.value as {
      spec: { http: { route: { weight: number }[] }[] };
    };
    routeDoc.spec.http[0]!.route[1]!.weight = -5;
    batch[2] = toMessage(routeDoc);
    const err = await failure(client.apply({ resources: batch, dry_run: false }));
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err.details).to.equal(
      'document 3 (Route orders): spec.http[0].route[1].weight: expected an integer >= 0, got -5',
    );
    expect(store.revision()).to.equal(0);
    expect(store.list()).to.deep.equal([]);
  });

  it('refuses a route to a missing service, an unknown kind and duplicates, storing nothing', async () => {
    const missing = await failure(
      client.apply({
        resources: [toMessage(service('orders')), toMessage(route('orders', 'paymnts'))],
        dry_run: false,
      }),
    );
    expect(missing.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).to.equal('Route orders: spec.http[0].route[0].service: service "paymnts" does not exist');
    const unknown = await failure(
      client.apply({ resources: [{ ...toMessage(service('a')), kind: 'Deployment' }], dry_run: false }),
    );
    expect(unknown.details).to.equal(
      'document 1 (Deployment a): kind: unknown kind Deployment, expected one of Service|Route|TrafficPolicy|Telemetry|PeerAuthentication|AuthorizationPolicy|RequestAuthentication|Gateway',
    );
    const dup = await failure(
      client.apply({ resources: [toMessage(service('a')), toMessage(service('a', 81))], dry_run: false }),
    );
    expect(dup.details).to.contain(
      'document 2 (Service a): metadata.name: duplicate Service "a", already in document 1',
    );
    expect(store.list()).to.deep.equal([]);
  });

  it('dry-runs an apply: diffs, stores nothing', async () => {
    await client.apply({ resources: [toMessage(service('orders'))], dry_run: false });
    const res = await client.apply({
      resources: [toMessage(service('orders', 9090)), toMessage(service('pay'))],
      dry_run: true,
    });
    expect(res.results.map((r) => r.action)).to.deep.equal(['configured', 'created']);
    expect(res.results[0]?.diff).to.contain('-      port: 8080\n+      port: 9090');
    expect(res.results[1]?.diff).to.contain('--- /dev/null');
    expect(store.list().map((r) => r.metadata.name)).to.deep.equal(['orders']);
    expect((store.get({ kind: 'Service', name: 'orders' }) as ServiceResource).spec.ports[0]?.port).to.equal(8080);
  });

  it('answers NOT_FOUND naming a missing resource', async () => {
    const err = await failure(client.get('Route', 'nope'));
    expect(err.code).to.equal(grpc.status.NOT_FOUND);
    expect(err.details).to.equal('Route "nope" not found');
    expect((await failure(client.delete('tp', 'nope'))).code).to.equal(grpc.status.NOT_FOUND);
  });

  it('refuses to delete a referenced service, then deletes in order', async () => {
    await client.apply({ resources: ordersBatch(), dry_run: false });
    const err = await failure(client.delete('Service', 'orders'));
    expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(err.details).to.contain('cannot delete Service orders, it is still referenced:');
    expect(err.details).to.contain('Route orders: spec.http[0].route[0].service: service "orders" would be deleted');
    expect(err.details).to.contain('TrafficPolicy orders: spec.service');
    const tpErr = await failure(client.delete('TrafficPolicy', 'orders'));
    expect(tpErr.details).to.contain('subset "v2" is not defined');
    const dry = await client.delete('Route', 'orders', true);
    expect(dry.result.diff).to.contain('+++ /dev/null');
    expect(store.get({ kind: 'Route', name: 'orders' })).to.not.equal(undefined);
    await client.delete('Route', 'orders');
    await client.delete('TrafficPolicy', 'orders');
    const done = await client.delete('Service', 'orders');
    expect(done.result.action).to.equal('deleted');
    expect(store.list()).to.deep.equal([]);
  });

  it('watches: current state as ADDED, then changes', async () => {
    await client.apply({ resources: [toMessage(service('a'))], dry_run: false });
    const stream = client.watch('Service');
    const events: WatchEventMessage[] = [];
    let wake = () => {};
    stream.on('data', (e: WatchEventMessage) => {
      events.push(e);
      wake();
    });
    const waitFor = (n: number) =>
      new Promise<void>((resolve, reject) => {
        wake = () => {
          if (events.length >= n) resolve();
        };
        stream.once('error', reject);
        wake();
      });
    try {
      await waitFor(1);
      expect(events.map((e) => `${e.type} ${e.resource.metadata?.name} ${e.revision}`)).to.deep.equal(['ADDED a 1']);
      await client.apply({
        resources: [toMessage(service('a', 81)), toMessage(service('b')), toMessage(route('r', 'a'))],
        dry_run: false,
      });
      await client.delete('Service', 'b');
      await waitFor(4);
      expect(events.slice(1).map((e) => `${e.type} ${e.resource.metadata?.name} ${e.revision}`)).to.deep.equal([
        'MODIFIED a 2',
        'ADDED b 2',
        'DELETED b 3',
      ]);
    } finally {
      stream.on('error', () => undefined);
      stream.cancel();
    }
  });

  it('ends open watch streams when the server closes', async () => {
    await client.apply({ resources: [toMessage(service('a'))], dry_run: false });
    const stream = client.watch();
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    await server.close();
    expect((await status).code).to.equal(grpc.status.OK);
  });

  it('reports Watch calls to the observer: how each ended and how many events it sent', async () => {
    type Ended = ApiCallInfo & { code: grpc.status; detail?: Readonly<Record<string, unknown>> };
    const ended: Ended[] = [];
    let onEnd = () => {};
    const observer: ApiObserver = {
      begin: (info) => ({
        run: (fn) => fn(),
        end: (code, _error, detail) => {
          ended.push({ ...info, code, ...(detail ? { detail } : {}) });
          onEnd();
        },
      }),
    };
    const endedCount = (n: number) =>
      new Promise<void>((resolve) => {
        onEnd = () => {
          if (ended.length >= n) resolve();
        };
        onEnd();
      });
    await client.apply({ resources: [toMessage(service('a')), toMessage(service('b'))], dry_run: false });
    const observed = await startApiServer({
      store,
      proxies: stubTracker,
      logger: pino({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
      observer,
    });
    const c = new AdminClient(`127.0.0.1:${observed.port}`);
    try {
      // The client goes away after the current state (2 events).
      const first = c.watch('svc');
      first.on('error', () => undefined);
      let got = 0;
      await new Promise<void>((resolve) =>
        first.on('data', () => {
          if (++got === 2) resolve();
        }),
      );
      first.cancel();
      await endedCount(1);
      // A kind that does not exist.
      const bad = c.watch('Nope');
      bad.on('error', () => undefined);
      await endedCount(2);
      // Open when the server closes: ended by us, OK.
      const last = c.watch('Service');
      last.on('error', () => undefined);
      const lastStatus = new Promise<grpc.StatusObject>((resolve) => last.on('status', resolve));
      await new Promise((resolve) => last.once('data', resolve));
      await observed.close();
      await lastStatus;
      await endedCount(3);
    } finally {
      c.close();
      await observed.close();
    }
    const outcome = (e: Ended) => [
      e.method,
      e.resources.join(','),
      grpc.status[e.code],
      e.detail?.['trellis.events'],
      e.detail?.['trellis.ended_by'],
    ];
    // A client leaving is how a watch normally ends: OK, ended by the client.
    expect(ended.map(outcome)).to.deep.equal([
      ['Watch', 'svc', 'OK', 2, 'client'],
      ['Watch', 'Nope', 'INVALID_ARGUMENT', undefined, undefined],
      ['Watch', 'Service', 'OK', 2, 'server'],
    ]);
  });

  it('drops a watcher that cannot keep up with the current state: RESOURCE_EXHAUSTED', async function () {
    this.timeout(60_000);
    // More resources than a watcher may have queued (MAX_WATCH_BACKLOG), and a client that reads nothing.
    const many = Array.from({ length: MAX_WATCH_BACKLOG + 500 }, (_, i) => service(`s${i}`) as ServiceResource);
    await store.commit({ put: many, delete: [] });
    const stream = client.watch('Service');
    stream.on('error', () => undefined);
    stream.pause();
    const status = await new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    expect(grpc.status[status.code]).to.equal('RESOURCE_EXHAUSTED');
    expect(status.details).to.match(/fell too far behind/);
  });

  it('serializes concurrent applies (each validated against the state it lands on)', async () => {
    const applies = Array.from({ length: 10 }, (_, i) =>
      client.apply({ resources: [toMessage(service(`s${i}`))], dry_run: false }),
    );
    const revisions = (await Promise.all(applies)).map((r) => r.revision).sort((a, b) => a - b);
    expect(revisions).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('reports proxy status from the tracker', async () => {
    const { proxies } = await client.proxyStatus();
    expect(proxies).to.have.length(1);
    const p = proxies[0]!;
    expect([p.node_id, p.cluster, p.service, p.protocol, p.client_kind, p.peer]).to.deep.equal([
      'orders-1',
      'orders',
      'orders',
      'sotw',
      'sidecar',
      '127.0.0.1:50000',
    ]);
    expect(p.types[0]).to.deep.include({ sent_version: '3', acked_version: '2', acked_at: '', subscribed: ['*'] });
    expect(p.types[0]?.last_nack).to.deep.equal({
      version: '3',
      nonce: 'n3',
      error: 'bad listener',
      at: '2025-01-01T00:00:01.000Z',
    });
  });

  it('serves gRPC reflection (what grpcurl list/describe use)', async () => {
    const require = createRequire(import.meta.url);
    const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
      includeDirs: [reflectionDir],
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const refl = new pkg.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${server.port}`,
      grpc.credentials.createInsecure(),
    );
    try {
      const ask = (req: Record<string, unknown>) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const call = (
            refl as unknown as Record<string, () => grpc.ClientDuplexStream<unknown, Record<string, unknown>>>
          )['ServerReflectionInfo']!.call(refl);
          call.once('data', (res) => {
            call.end();
            resolve(res);
          });
          call.once('error', reject);
          call.write(req);
        });
      const listed = (await ask({ list_services: '' })) as { list_services_response: { service: { name: string }[] } };
      expect(listed.list_services_response.service.map((s) => s.name)).to.include('trellis.admin.v1.AdminService');
      const described = (await ask({ file_containing_symbol: 'trellis.admin.v1.AdminService' })) as {
        file_descriptor_response?: { file_descriptor_proto: Buffer[] };
      };
      // grpcurl links the returned files by their declared imports: the service's file must import the one
      // defining google.protobuf.Struct, and that file must come along in the same response.
      const files = (described.file_descriptor_response?.file_descriptor_proto ?? []).map(
        (b) =>
          FileDescriptorProto.toObject(FileDescriptorProto.decode(b)) as {
            name: string;
            package?: string;
            dependency?: string[];
          },
      );
      const service = files.find((f) => f.package === 'trellis.admin.v1');
      const struct = files.find((f) => f.package === 'google.protobuf');
      expect(struct, 'google.protobuf file in the response').to.not.equal(undefined);
      expect(service?.dependency).to.include(struct?.name);
    } finally {
      refl.close();
    }
  });
});
