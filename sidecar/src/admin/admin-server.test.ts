// Admin server over real HTTP: readiness, health, config dump, clusters (text/JSON), stats, Prometheus, drain, 404.
import { expect } from 'chai';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import type { ListenerStatus } from '../listeners/active-listener.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import { edsCluster, loadAssignment, sidecarConfig } from '../upstream/fixtures.ts';
import { AdminServer, type ServerState } from './admin-server.ts';
import { parsePrometheus } from './prometheus-check.ts';

describe('AdminServer', () => {
  let admin: AdminServer;
  let base: string;
  let state: ServerState;
  let drains: number;
  const stats = new Stats();
  const clusters = new ClusterManager({ stats });
  const listeners: ListenerStatus[] = [
    {
      name: 'outbound',
      address: '127.0.0.1',
      port: 15001,
      boundPort: 15001,
      state: 'bound',
      filter: 'http',
      direction: 'outbound',
      version: 'v1',
      activeConnections: 2,
      overflowConnections: 0,
      acceptedConnections: 0,
    },
  ];

  before(async () => {
    clusters.update(
      sidecarConfig({
        clusters: [edsCluster('orders|8080')],
        endpoints: [loadAssignment('orders|8080', '10.0.0.1:8080*2', '!10.0.0.2:8080')],
      }),
    );
    const host = clusters.get('orders|8080')!.hosts()[0]!;
    host.stats.activeRequests = 1;
    host.stats.totalRequests = 5;
    clusters.get('orders|8080')!.stats.upstreamRequests = 5;
    stats.inc('cluster.orders|8080.upstream_rq_total', 5);
    stats.inc('cluster.orders|8080.upstream_rq_200', 4);
    stats.inc('cluster.orders|8080.upstream_rq_503');
    stats.inc('http.outbound.downstream_rq_2xx', 4);
    admin = new AdminServer({
      stats,
      clusters: () => clusters.list(),
      listeners: () => listeners,
      configDump: () => ({ version_info: { listener: 'v1' }, big: 10n, re: /a+/ }),
      state: () => state,
      statScopes: () => ({ clusters: ['orders|8080'], tcp: [], http: ['outbound'] }),
      drain: () => {
        drains++;
        state = 'DRAINING';
      },
      logger: pino({ level: 'silent' }),
    });
    const address = await admin.listen(0);
    expect(address.address).to.equal('127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
  });

  beforeEach(() => {
    state = 'LIVE';
    drains = 0;
  });

  after(async () => {
    await admin.close();
  });

  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(`${base}${path}`, init);

  it('/ready is 200 LIVE when live, 503 with the state otherwise; /healthz is always 200', async () => {
    let r = await get('/ready');
    expect([r.status, await r.text()]).to.deep.equal([200, 'LIVE\n']);
    state = 'PRE_INITIALIZING';
    r = await get('/ready');
    expect([r.status, await r.text()]).to.deep.equal([503, 'PRE_INITIALIZING\n']);
    r = await get('/healthz');
    expect(r.status).to.equal(200);
  });

  it('/config_dump is JSON with the xDS dump and the listener status', async () => {
    const r = await get('/config_dump');
    expect(r.headers.get('content-type')).to.equal('application/json');
    const body = (await r.json()) as Record<string, unknown>;
    expect(body['xds']).to.deep.equal({ version_info: { listener: 'v1' }, big: '10', re: 'a+' });
    expect(body['listeners']).to.deep.equal(listeners);
    expect(body['state']).to.equal('LIVE');
  });

  it('/clusters lists hosts Envoy-style, and as JSON', async () => {
    const text = await (await get('/clusters')).text();
    const lines = text.trimEnd().split('\n');
    expect(lines).to.include.members([
      'orders|8080::default_priority::max_requests::1024',
      'orders|8080::10.0.0.1:8080::health_flags::healthy',
      'orders|8080::10.0.0.1:8080::rq_active::1',
      'orders|8080::10.0.0.1:8080::rq_total::5',
      'orders|8080::10.0.0.1:8080::cx_active::0',
      'orders|8080::10.0.0.1:8080::weight::2',
      'orders|8080::10.0.0.2:8080::health_flags::/failed_eds_health',
    ]);
    for (const line of lines) expect(line.split('::').length, line).to.be.within(3, 4);
    const json = (await (await get('/clusters?format=json')).json()) as {
      cluster_statuses: { name: string; host_statuses: { address: unknown; health_status: unknown }[] }[];
    };
    expect(json.cluster_statuses[0]?.name).to.equal('orders|8080');
    expect(json.cluster_statuses[0]?.host_statuses[1]).to.deep.include({
      address: { socket_address: { address: '10.0.0.2', port_value: 8080 } },
      health_status: { eds_health_status: 'UNHEALTHY' },
    });
  });

  it('/stats prints `name: value` lines (counters, gauges, server and listener gauges), with a filter', async () => {
    const text = await (await get('/stats')).text();
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect(line).to.match(/^\S+: -?\d+$/);
    expect(lines).to.include.members([
      'cluster.orders|8080.upstream_rq_total: 5',
      'cluster.orders|8080.membership_total: 2',
      'cluster.orders|8080.membership_healthy: 1',
      'server.live: 1',
      'listener.127.0.0.1_15001.downstream_cx_active: 2',
    ]);
    const filtered = await (await get('/stats?filter=membership')).text();
    expect(filtered.trimEnd().split('\n')).to.deep.equal([
      'cluster.orders|8080.membership_healthy: 1',
      'cluster.orders|8080.membership_total: 2',
    ]);
    expect((await get('/stats?filter=(')).status).to.equal(400);
    // The filter is RE2, as in Envoy: no lookarounds, and no backtracking.
    const lookahead = await get(`/stats?filter=${encodeURIComponent('(?=m)membership')}`);
    expect(lookahead.status).to.equal(400);
    expect(await lookahead.text()).to.match(/invalid RE2 regex .*lookahead/);
    const linear = await (await get(`/stats?filter=${encodeURIComponent('^(m|m)*embership_t.*')}`)).text();
    expect(linear).to.equal('');
    const partial = await (await get(`/stats?filter=${encodeURIComponent('membership_t(o|a)tal')}`)).text();
    expect(partial.trimEnd()).to.equal('cluster.orders|8080.membership_total: 2');
    const json = (await (await get('/stats?format=json&filter=rq_total')).json()) as { stats: unknown[] };
    expect(json.stats).to.deep.equal([
      { name: 'cluster.orders|8080.endpoint.10.0.0.1:8080.upstream_rq_total', value: 5 },
      { name: 'cluster.orders|8080.endpoint.10.0.0.2:8080.upstream_rq_total', value: 0 },
      { name: 'cluster.orders|8080.upstream_rq_total', value: 5 },
    ]);
  });

  it('/stats/prometheus is valid exposition text with Envoy names and labels', async () => {
    const r = await get('/stats/prometheus');
    expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(await r.text());
    expect(families.get('envoy_cluster_upstream_rq_total')?.samples).to.deep.equal([
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="orders|8080"} 5',
    ]);
    expect(families.get('envoy_cluster_upstream_rq')?.samples).to.deep.equal([
      'envoy_cluster_upstream_rq{envoy_cluster_name="orders|8080",envoy_response_code="200"} 4',
      'envoy_cluster_upstream_rq{envoy_cluster_name="orders|8080",envoy_response_code="503"} 1',
    ]);
    expect(families.get('envoy_http_downstream_rq_xx')?.samples).to.deep.equal([
      'envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="outbound",envoy_response_code_class="2"} 4',
    ]);
    expect(families.get('envoy_server_live')?.kind).to.equal('gauge');
    expect(families.get('envoy_server_live')?.samples).to.deep.equal(['envoy_server_live 1']);
  });

  it('POST /drain starts draining (GET is refused); /ready then turns 503', async () => {
    const wrong = await get('/drain');
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('POST');
    expect(drains).to.equal(0);
    const r = await get('/drain', { method: 'POST' });
    expect(r.status).to.equal(200);
    expect(drains).to.equal(1);
    const ready = await get('/ready');
    expect([ready.status, await ready.text()]).to.deep.equal([503, 'DRAINING\n']);
  });

  it('GET / lists the endpoints; unknown paths are 404', async () => {
    const index = await (await get('/')).text();
    for (const path of ['/ready', '/healthz', '/config_dump', '/clusters', '/stats', '/stats/prometheus', '/drain']) {
      expect(index).to.contain(` ${path} `);
    }
    expect((await get('/nope')).status).to.equal(404);
    expect((await get('/stats/nope')).status).to.equal(404);
  });

  it('beyond loopback, POSTs need the admin token (403 without one configured, 401 with a wrong one); GETs stay open', async () => {
    const make = (adminToken?: string) =>
      new AdminServer({
        stats: new Stats(),
        clusters: () => [],
        listeners: () => [],
        configDump: () => ({}),
        state: () => 'LIVE',
        statScopes: () => ({ clusters: [], tcp: [], http: [] }),
        drain: () => undefined,
        logger: pino({ level: 'silent' }),
        ...(adminToken === undefined ? {} : { adminToken }),
      });
    const open = make();
    const guarded = make('s3cret');
    try {
      // Bound to every address (0.0.0.0), reached here through loopback.
      const openPort = (await open.listen(0, '0.0.0.0')).port;
      const guardedPort = (await guarded.listen(0, '0.0.0.0')).port;
      const post = (port: number, auth?: string) =>
        fetch(`http://127.0.0.1:${port}/drain`, {
          method: 'POST',
          ...(auth === undefined ? {} : { headers: { authorization: auth } }),
        });
      const refused = await post(openPort);
      expect(refused.status).to.equal(403);
      expect(await refused.text()).to.match(/POSTs need --admin-token/);
      expect((await post(guardedPort)).status).to.equal(401);
      expect((await post(guardedPort, 'Bearer wrong')).status).to.equal(401);
      expect((await post(guardedPort, 'Bearer s3cret')).status).to.equal(200);
      expect((await fetch(`http://127.0.0.1:${openPort}/stats`)).status).to.equal(200);
    } finally {
      await open.close();
      await guarded.close();
    }
  });
});
