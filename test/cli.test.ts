// trellisctl in-process (runCli) against a real API server: output formats, user errors, proxy status.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { parse, parseAllDocuments } from 'yaml';
import { type ApiServer, startApiServer } from '../control-plane/src/api/server.ts';
import { runCli } from '../control-plane/src/cli/main.ts';
import { JoinTokens } from '../control-plane/src/identity/join-tokens.ts';
import { FileStore } from '../control-plane/src/store/file-store.ts';
import type { ProxyStatus, ProxyTracker, TypeStatus } from '../control-plane/src/xds/proxy-status.ts';
import { ORDERS_YAML } from './fixtures/resources.ts';

const URL_OF = {
  cds: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  eds: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  lds: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  rds: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  sds: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
};

const typeStatus = (typeUrl: string, sent: string, acked: string, nack?: string): TypeStatus => {
  const t: TypeStatus = { typeUrl, sentVersion: sent, ackedVersion: acked, subscribed: ['*'] };
  if (nack) t.lastNack = { version: sent, nonce: 'n', error: nack, at: '2025-01-01T00:00:05.000Z' };
  return t;
};

const proxy = (id: string, service: string | undefined, types: TypeStatus[]): ProxyStatus => ({
  streamId: id,
  node: {
    id,
    cluster: 'c',
    metadata: service ? { TRELLIS_SERVICE: service } : {},
    locality: { region: '', zone: '', sub_zone: '' },
    userAgentName: '',
    userAgentVersion: '',
    clientFeatures: [],
  },
  protocol: service ? 'sotw' : 'delta',
  connectedAt: '2025-01-01T00:00:00.000Z',
  peer: '127.0.0.1:1',
  // A sidecar on the mTLS xDS port shows its certificate's identity; the proxyless client is on the plaintext port.
  ...(service ? { identity: `spiffe://cluster.local/ns/default/sa/${service}` } : {}),
  types,
});

const PROXIES: ProxyStatus[] = [
  proxy('orders-1', 'orders', [
    typeStatus(URL_OF.cds, '2', '2'),
    typeStatus(URL_OF.eds, '3', '2'),
    typeStatus(URL_OF.lds, '4', '3', 'listener orders: unknown filter'),
    typeStatus(URL_OF.sds, '1', '1'),
  ]),
  proxy('grpc-client', undefined, [typeStatus(URL_OF.lds, '1', '1'), typeStatus(URL_OF.rds, '1', '1')]),
];

describe('trellisctl (in-process)', () => {
  let dir: string;
  let store: FileStore;
  let server: ApiServer;
  let api: string;
  const tracker: ProxyTracker & { proxies: ProxyStatus[] } = {
    proxies: PROXIES,
    list() {
      return this.proxies;
    },
    onEvent: () => () => undefined,
  };

  /** Runs trellisctl with --api pointing at the test server. */
  async function ctl(args: string[], stdin = '') {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--api', api, ...args], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([stdin]),
      env: {},
    });
    return { code, stdout, stderr };
  }

  async function file(name: string, text: string): Promise<string> {
    const p = path.join(dir, name);
    await writeFile(p, text);
    return p;
  }

  const tokens = JoinTokens.open(undefined);

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-cli-'));
    store = new FileStore(path.join(dir, 'data'));
    await store.open();
    server = await startApiServer({
      store,
      proxies: tracker,
      logger: pino({ level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
      identity: { trust: { trustDomain: 'cluster.local', caSha256: 'a'.repeat(64) }, tokens },
    });
    api = `127.0.0.1:${server.port}`;
  });

  afterEach(async () => {
    await server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a file, then stdin, reporting each resource', async () => {
    const f = await file('orders.yaml', ORDERS_YAML);
    expect(await ctl(['apply', '-f', f])).to.deep.equal({
      code: 0,
      stdout: 'service/orders created\ntrafficpolicy/orders created\nroute/orders created\n',
      stderr: '',
    });
    const again = await ctl(['apply', '-f', '-'], ORDERS_YAML.replace('port: 8080', 'port: 8081'));
    expect(again.stdout).to.equal(
      'service/orders configured\ntrafficpolicy/orders unchanged\nroute/orders unchanged\n',
    );
  });

  it('dry-runs with a diff and stores nothing', async () => {
    await ctl(['apply', '-f', '-'], ORDERS_YAML);
    const res = await ctl(['apply', '--dry-run', '-f', '-'], ORDERS_YAML.replace('port: 8080', 'port: 9090'));
    expect(res.code).to.equal(0);
    expect(res.stdout).to.contain(
      'service/orders configured (dry run)\n--- Service/orders (stored)\n+++ Service/orders (applied)\n',
    );
    expect(res.stdout).to.contain('-      port: 8080\n+      port: 9090\n');
    expect(res.stdout).to.contain('route/orders unchanged (dry run)\n');
    expect(store.revision()).to.equal(1);
  });

  it('analyze: files (a directory), the stored state (--live), or both; exit 1 only on errors', async () => {
    // Offline: a directory of files, nothing stored; a policy selecting no service is a warning (exit 0).
    await mkdir(path.join(dir, 'mesh'));
    await writeFile(path.join(dir, 'mesh', 'orders.yaml'), ORDERS_YAML);
    await writeFile(
      path.join(dir, 'mesh', 'policy.yaml'),
      `apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: ordres }
spec:
  selector: { service: ordres }
  mtls: { mode: STRICT }
`,
    );
    const offline = await ctl(['analyze', '-f', path.join(dir, 'mesh')]);
    expect(offline.code, offline.stderr).to.equal(0);
    expect(offline.stdout).to.contain('TA004  warning  PeerAuthentication/ordres\n');
    expect(offline.stdout).to.contain('0 error(s), 1 warning(s) in 4 resources.\n');
    expect(store.revision()).to.equal(0);
    // Live: the stored mesh, plus a file that would break a reference and shadow a rule (exit 1, JSON for scripts).
    await ctl(['apply', '-f', '-'], ORDERS_YAML);
    expect((await ctl(['analyze', '--live'])).stdout).to.equal('No problems found in 3 resources.\n');
    const change = await file(
      'route.yaml',
      `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: orders }
spec:
  hosts: [orders]
  http:
    - route: [{ service: orders, subset: v1 }]
    - match: [{ pathPrefix: /api }]
      route: [{ service: orders, subset: v3 }]
`,
    );
    const live = await ctl(['analyze', '--live', '-f', change, '-o', 'json']);
    expect(live.code).to.equal(1);
    expect(live.stderr).to.equal('error: 1 error(s) found: apply would refuse this state\n');
    const report = JSON.parse(live.stdout) as { resources: number; findings: { code: string; resources: string[] }[] };
    expect(report.resources).to.equal(3);
    expect(report.findings.map((f) => [f.code, f.resources])).to.deep.equal([
      ['TA001', ['Route/orders']],
      ['TA002', ['Route/orders']],
    ]);
    // Neither files nor --live: told what to give.
    expect((await ctl(['analyze'])).stderr).to.equal('error: give -f FILE|DIR (repeatable), --live, or both\n');
  });

  it('gets resources as a table, YAML and JSON', async () => {
    await ctl(['apply', '-f', '-'], ORDERS_YAML);
    const table = await ctl(['get', 'svc']);
    expect(table.stdout.replace(/\d+s\n$/, 'AGE\n')).to.equal(
      'NAME    PORTS           STATIC ENDPOINTS  GENERATION  AGE\norders  http:8080/HTTP  0                 1           AGE\n',
    );
    expect((await ctl(['get', 'trafficpolicies'])).stdout).to.contain('orders  orders   v1,v2    LEAST_REQUEST');
    expect((await ctl(['get', 'routes'])).stdout.split('\n')[1]).to.satisfy((l: string) =>
      l.startsWith('orders  orders  1      orders    1 '),
    );
    const yaml = parse((await ctl(['get', 'route', 'orders', '-o', 'yaml'])).stdout);
    expect(yaml.kind).to.equal('Route');
    expect(yaml.metadata.generation).to.equal(1);
    expect(yaml.spec.http[0].route[0]).to.deep.equal({ service: 'orders', subset: 'v2', weight: 10 });
    const all = parseAllDocuments((await ctl(['get', 'service', '-o', 'yaml'])).stdout);
    expect(all).to.have.length(1);
    const json = JSON.parse((await ctl(['get', 'Service', '-o', 'json'])).stdout);
    expect(json.map((r: { metadata: { name: string } }) => r.metadata.name)).to.deep.equal(['orders']);
    const empty = await ctl(['get', 'tp', 'nope']);
    expect(empty).to.deep.include({ code: 1, stderr: 'error: TrafficPolicy "nope" not found\n' });
  });

  it('the YAML of get re-applies unchanged', async () => {
    await ctl(['apply', '-f', '-'], ORDERS_YAML);
    const yaml = (await ctl(['get', 'route', '-o', 'yaml'])).stdout;
    expect((await ctl(['apply', '-f', '-'], yaml)).stdout).to.equal('route/orders unchanged\n');
  });

  describe('refuses bad input with one clear message and stores nothing', () => {
    const cases: [string, string, string][] = [
      [
        'invalid YAML',
        `${ORDERS_YAML}---\nkind: Route\nspec: { hosts: [a }\n`,
        'error: bad.yaml: document 4: YAML syntax error at line 29, column 19: Flow sequence',
      ],
      [
        'an unknown kind',
        ORDERS_YAML.replace('kind: TrafficPolicy', 'kind: DestinationRule'),
        'error: bad.yaml: document 2 (DestinationRule orders): kind: unknown kind DestinationRule, expected one of Service|Route|TrafficPolicy|Telemetry|PeerAuthentication|AuthorizationPolicy|RequestAuthentication|Gateway\n',
      ],
      [
        'a route to a missing service',
        ORDERS_YAML.replace('route: [{ service: orders, subset: v2', 'route: [{ service: paymnts, subset: v2'),
        'error: Route orders: spec.http[0].route[0].service: service "paymnts" does not exist\n',
      ],
      [
        'a negative weight',
        ORDERS_YAML.replace('subset: v1, weight: 90', 'subset: v1, weight: -5'),
        'error: bad.yaml: document 3 (Route orders): spec.http[0].route[1].weight: expected an integer >= 0, got -5\n',
      ],
      [
        'a duplicate name in one apply',
        `${ORDERS_YAML}---\napiVersion: trellis.dev/v1\nkind: Service\nmetadata: { name: orders }\nspec: { ports: [{ name: http, port: 81, protocol: HTTP }] }\n`,
        'error: bad.yaml: document 4 (Service orders): metadata.name: duplicate Service "orders", already in document 1; a batch may hold each kind/name once\n',
      ],
    ];
    for (const [what, text, message] of cases) {
      it(what, async () => {
        const f = await file('bad.yaml', text);
        const res = await ctl(['apply', '-f', f]);
        expect(res.code).to.equal(1);
        expect(res.stdout).to.equal('');
        expect(res.stderr.startsWith(message.replace('bad.yaml', f)), res.stderr).to.equal(true);
        expect(res.stderr.split('\n').filter(Boolean)).to.have.length(1);
        expect(store.list()).to.deep.equal([]);
      });
    }
  });

  it('refuses to delete a referenced service, deletes a route', async () => {
    await ctl(['apply', '-f', '-'], ORDERS_YAML);
    const refused = await ctl(['delete', 'svc', 'orders']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain('error: cannot delete Service orders, it is still referenced:\n');
    expect(await ctl(['delete', 'route', 'orders'])).to.deep.equal({
      code: 0,
      stdout: 'route/orders deleted\n',
      stderr: '',
    });
    expect(store.get({ kind: 'Route', name: 'orders' })).to.equal(undefined);
  });

  it('shows proxy status: SYNCED / STALE / NACK per type and the last NACK', async () => {
    const res = await ctl(['proxy-status']);
    expect(res.code).to.equal(0);
    expect(res.stdout).to.equal(
      [
        'NODE         SERVICE  PROTOCOL  IDENTITY                                     CDS     EDS    LDS     RDS     SDS',
        'orders-1     orders   sotw      spiffe://cluster.local/ns/default/sa/orders  SYNCED  STALE  NACK    -       SYNCED',
        'grpc-client  -        delta     plaintext                                    -       -      SYNCED  SYNCED  -',
        '',
        'Last NACK per proxy:',
        '  orders-1 (LDS, version 4, 2025-01-01T00:00:05.000Z): listener orders: unknown filter',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await ctl(['proxy-status', '-o', 'json'])).stdout);
    expect(json.proxies.map((p: { node_id: string }) => p.node_id)).to.deep.equal(['orders-1', 'grpc-client']);
  });

  it('token create: the token alone for scripts, its identity and expiry with -o yaml, bad input named', async () => {
    const plain = await ctl(['token', 'create', '--service', 'web', '--ttl', '1h']);
    expect(plain.code, plain.stderr).to.equal(0);
    const token = plain.stdout.trim();
    expect(token).to.match(/^trellis-join\.v1\.[\w-]+\.[\w-]+$/);
    expect(tokens.verify(token)).to.deep.include({ namespace: 'default', serviceAccount: 'web' });
    const detailed = await ctl(['token', 'create', '--service', 'web', '--namespace', 'shop', '-o', 'yaml']);
    const doc = parse(detailed.stdout) as { spiffe_id: string; expires_at: string };
    expect(doc.spiffe_id).to.equal('spiffe://cluster.local/ns/shop/sa/web');
    expect(Date.parse(doc.expires_at) - Date.now()).to.be.within(23.9 * 3600_000, 24 * 3600_000);
    const bad = await ctl(['token', 'create', '--service', 'web', '--namespace', 'a/b']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('namespace: expected letters, digits, ".", "-" or "_" (not "." or ".."), got "a/b"');
  });

  it('says when no proxy is connected', async () => {
    tracker.proxies = [];
    try {
      expect(await ctl(['proxy-status'])).to.deep.equal({ code: 0, stdout: '', stderr: 'No proxies connected.\n' });
    } finally {
      tracker.proxies = PROXIES;
    }
  });

  it('reports an unreachable API, an unknown kind and a missing file clearly', async () => {
    api = '127.0.0.1:1';
    const down = await ctl(['get', 'svc']);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(
      /^error: cannot reach the Trellis API at 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    );
    expect((await ctl(['get', 'pods'])).stderr).to.equal(
      'error: unknown kind "pods", expected one of Service|Route|TrafficPolicy|Telemetry|PeerAuthentication|AuthorizationPolicy|RequestAuthentication|Gateway (or service(s)/svc, route(s), trafficpolicy/trafficpolicies/tp, telemetry/telemetries/tel, peerauthentication(s)/pa, authorizationpolicy/authorizationpolicies/authz, requestauthentication(s)/ra, gateway(s)/gw)\n',
    );
    expect((await ctl(['apply', '-f', path.join(dir, 'missing.yaml')])).stderr).to.match(
      /^error: cannot read .*missing\.yaml: ENOENT/,
    );
  });

  it('takes the API address from TRELLIS_API, and prints help with exit 0', async () => {
    let stderr = '';
    const code = await runCli(['get', 'svc'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: Readable.from([]),
      env: { TRELLIS_API: '127.0.0.1:1' },
    });
    expect(code).to.equal(1);
    expect(stderr).to.contain('cannot reach the Trellis API at 127.0.0.1:1');
    const help = await ctl(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain('Usage: trellisctl');
  });
});
