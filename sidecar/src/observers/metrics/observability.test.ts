// A real Sidecar (hand-set config, real sockets) with HTTP and TCP listeners that configure access_log: request
// metrics and histograms on /stats/prometheus equal the traffic sent, and one access log line per request/connection.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { parsePrometheus, sampleValue } from '../../admin/prometheus-check.ts';
import { ConfigRelay } from '../../config/config-relay.ts';
import type { AccessLogConfig, ListenerConfig, RouteConfig } from '../../config/model.ts';
import { route, routeConfig, vhost } from '../../http/test-config.ts';
import { httpListener, tcpListener } from '../../listeners/fixtures.ts';
import { Sidecar, type SidecarConfigSource } from '../../sidecar.ts';
import { closeServer, echoServer, exchange, listen } from '../../tcp/test-helpers.ts';
import { edsCluster, loadAssignment, sidecarConfig } from '../../upstream/fixtures.ts';

class ReadySource extends ConfigRelay implements SidecarConfigSource {
  start(): void {}
  async stop(): Promise<void> {}
  async ready(): Promise<void> {}
  dump(): unknown {
    return {};
  }
}

function withLogs(l: ListenerConfig, logs: AccessLogConfig[]): ListenerConfig {
  if (l.filter.type === 'http') l.filter.http.accessLogs = logs;
  else l.filter.tcp.accessLogs = logs;
  return l;
}

describe('sidecar metrics and access logs (in process)', () => {
  let dir: string;
  let app: http.Server;
  let appPort: number;
  /** The app's side of the sidecar's upstream connections (their bytes are the cluster's, the other way round). */
  const appSockets: Socket[] = [];
  let echo: ReturnType<typeof echoServer>;
  let echoPort: number;
  let sidecar: Sidecar;
  let admin: string;
  const files = () => ({
    all: path.join(dir, 'http.log'),
    errors: path.join(dir, 'errors.log'),
    tcp: path.join(dir, 'tcp.log'),
    conn: path.join(dir, 'conn.log'),
  });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-obs-'));
    app = http.createServer((req, res) => {
      const status = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
      res.writeHead(status, { 'content-type': 'text/plain', 'x-app': 'yes' });
      res.end(`status ${status}`);
    });
    app.on('connection', (s: Socket) => appSockets.push(s));
    appPort = await listen(app as unknown as Parameters<typeof listen>[0]);
    echo = echoServer();
    echoPort = await listen(echo);
    // A port nothing listens on: the dead cluster's connects are refused (port 1 on loopback; a freed port can be
    // taken by any later listener of the run).
    const deadPort = 1;
    const f = files();
    const config = sidecarConfig({
      listeners: [
        withLogs(httpListener('ingress', 0, 'routes'), [
          { path: f.all, sampledPercent: 100 },
          {
            path: f.errors,
            sampledPercent: 100,
            statusFilter: { op: 'GE', value: 500 },
            jsonFormat: { code: '%RESPONSE_CODE%', app: '%RESP(X-APP)%', line: '%REQ(:METHOD)% %REQ(:PATH)%' },
          },
          {
            path: f.conn,
            sampledPercent: 100,
            textFormat: '%CONNECTION_ID% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%\n',
          },
        ]),
        withLogs(tcpListener('db', 0, ['echo']), [{ path: f.tcp, sampledPercent: 100 }]),
      ],
      clusters: [edsCluster('app|8080'), edsCluster('dead|1'), edsCluster('echo')],
      endpoints: [
        loadAssignment('app|8080', `127.0.0.1:${appPort}`),
        loadAssignment('dead|1', `127.0.0.1:${deadPort}`),
        loadAssignment('echo', `127.0.0.1:${echoPort}`),
      ],
    });
    (config.routes as Map<string, RouteConfig>).set(
      'routes',
      routeConfig([
        vhost(
          'app',
          ['*'],
          [route({ name: 'dead', prefix: '/dead', cluster: 'dead|1' }), route({ name: 'main', cluster: 'app|8080' })],
        ),
      ]),
    );
    sidecar = new Sidecar({
      source: new ReadySource(config),
      logger: pino({ level: 'silent' }),
      admin: { address: '127.0.0.1', port: 0 },
    });
    admin = `http://127.0.0.1:${(await sidecar.start()).adminPort}`;
    await sidecar.whenReady();
  });

  after(async () => {
    await sidecar?.stop(0);
    await closeServer(echo);
    await new Promise<void>((resolve) => {
      app.closeAllConnections();
      app.close(() => resolve());
    });
    rmSync(dir, { recursive: true, force: true });
  });

  const port = (name: string) => sidecar.listenerStatus().find((l) => l.name === name)!.boundPort!;

  it('counts requests by status class, latency histograms, routes and endpoints, and logs one line each', async () => {
    const base = `http://127.0.0.1:${port('ingress')}`;
    const statuses: number[] = [];
    for (const p of ['/a', '/b', '/c', '/d', '/e', '/f', '/g', '/status/503', '/status/503', '/status/503']) {
      const r = await fetch(`${base}${p}`, { headers: { 'x-request-id': `rid${p}` } });
      await r.text();
      statuses.push(r.status);
    }
    expect(statuses.filter((s) => s === 200)).to.have.length(7);
    expect(statuses.filter((s) => s === 503)).to.have.length(3);

    const families = parsePrometheus(await (await fetch(`${admin}/stats/prometheus`)).text());
    const hcm = { envoy_http_conn_manager_prefix: 'ingress' };
    const cluster = { envoy_cluster_name: 'app|8080' };
    const cls = (c: string) => ({ envoy_response_code_class: c });
    expect(sampleValue(families, 'envoy_http_downstream_rq_xx', { ...hcm, ...cls('2') })).to.equal(7);
    expect(sampleValue(families, 'envoy_http_downstream_rq_xx', { ...hcm, ...cls('5') })).to.equal(3);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_count', hcm)).to.equal(10);
    expect(sampleValue(families, 'envoy_http_downstream_rq_time_bucket', { ...hcm, le: '+Inf' })).to.equal(10);
    expect(sampleValue(families, 'envoy_http_downstream_rq_active', hcm)).to.equal(0);
    expect(sampleValue(families, 'envoy_http_downstream_cx_rx_bytes_total', hcm)).to.be.greaterThan(0);
    expect(sampleValue(families, 'envoy_http_downstream_cx_tx_bytes_total', hcm)).to.be.greaterThan(0);
    expect(sampleValue(families, 'envoy_cluster_upstream_rq_xx', { ...cluster, ...cls('2') })).to.equal(7);
    expect(sampleValue(families, 'envoy_cluster_upstream_rq_xx', { ...cluster, ...cls('5') })).to.equal(3);
    expect(sampleValue(families, 'envoy_cluster_upstream_rq_time_count', cluster)).to.equal(10);
    // Wire bytes of the upstream connections: what the app read is what the sidecar sent, and the other way round.
    const appRead = appSockets.reduce((n, s) => n + s.bytesRead, 0);
    const appWritten = appSockets.reduce((n, s) => n + s.bytesWritten, 0);
    expect(appRead).to.be.greaterThan(0);
    expect(sampleValue(families, 'envoy_cluster_upstream_cx_tx_bytes_total', cluster)).to.equal(appRead);
    expect(sampleValue(families, 'envoy_cluster_upstream_cx_rx_bytes_total', cluster)).to.equal(appWritten);
    const r = { envoy_virtual_host: 'app', envoy_route: 'main' };
    expect(sampleValue(families, 'envoy_vhost_route_upstream_rq_xx', { ...r, ...cls('2') })).to.equal(7);
    expect(sampleValue(families, 'envoy_vhost_route_upstream_rq_xx', { ...r, ...cls('5') })).to.equal(3);
    expect(sampleValue(families, 'envoy_vhost_route_upstream_rq_time_count', r)).to.equal(10);
    const ep = { ...cluster, envoy_endpoint_address: `127.0.0.1:${appPort}` };
    expect(sampleValue(families, 'envoy_cluster_endpoint_upstream_rq_xx', { ...ep, ...cls('2') })).to.equal(7);
    expect(sampleValue(families, 'envoy_cluster_endpoint_upstream_rq_xx', { ...ep, ...cls('5') })).to.equal(3);
    expect(sampleValue(families, 'envoy_cluster_endpoint_upstream_rq_active', ep)).to.equal(0);
    expect(sampleValue(families, 'envoy_cluster_endpoint_outlier_ejected', ep)).to.equal(0);
    expect(sampleValue(families, 'envoy_cluster_outlier_detection_ejections_active', cluster)).to.equal(0);
    expect(sampleValue(families, 'envoy_cluster_outlier_detection_ejections_enforced_total', cluster)).to.equal(0);
  });

  it('logs upstream connect failures with their flag, and TCP connections with their bytes', async () => {
    const failed = await fetch(`http://127.0.0.1:${port('ingress')}/dead/x`);
    await failed.text();
    expect(failed.status).to.equal(503);
    const reply = await exchange(port('db'), (s) => s.end('hello'));
    expect(reply.received.toString()).to.equal('hello');
  });

  it('flushes the access logs on stop: one parseable line per request and per connection', async () => {
    await sidecar.stop(0);
    const f = files();
    const lines = readFileSync(f.all, 'utf8').trimEnd().split('\n');
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).to.have.length(11);
    const ok = rows.filter((row) => row['response_code'] === 200);
    expect(ok).to.have.length(7);
    for (const row of ok) {
      expect(row).to.include({
        method: 'GET',
        protocol: 'HTTP/1.1',
        response_flags: null,
        bytes_sent: 'status 200'.length,
        bytes_received: 0,
        upstream_host: `127.0.0.1:${appPort}`,
        upstream_cluster: 'app|8080',
        route_name: 'main',
        upstream_request_attempt_count: 1,
      });
      expect(row['x_request_id']).to.equal(`rid${row['path']}`);
      expect(row['duration']).to.be.a('number');
      expect(Date.parse(row['start_time'] as string)).to.be.closeTo(Date.now(), 60_000);
    }
    expect(rows.filter((row) => row['response_code'] === 503 && row['response_flags'] === null)).to.have.length(3);
    const uf = rows.find((row) => row['path'] === '/dead/x');
    expect(uf).to.include({ response_code: 503, response_flags: 'UF', upstream_cluster: 'dead|1', route_name: 'dead' });

    const errors = readFileSync(f.errors, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(errors).to.deep.equal([
      { code: 503, app: 'yes', line: 'GET /status/503' },
      { code: 503, app: 'yes', line: 'GET /status/503' },
      { code: 503, app: 'yes', line: 'GET /status/503' },
      { code: 503, app: null, line: 'GET /dead/x' },
    ]);

    const tcp = readFileSync(f.tcp, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(tcp).to.have.length(1);
    expect(tcp[0]).to.include({
      bytes_received: 5,
      bytes_sent: 5,
      upstream_host: `127.0.0.1:${echoPort}`,
      upstream_cluster: 'echo',
      response_flags: null,
    });
    expect(tcp[0]!['connection_id']).to.be.a('number');
    expect(tcp[0]!['downstream_remote_address']).to.match(/^127\.0\.0\.1:\d+$/);

    // HTTP lines name the downstream connection: a process-wide id (shared with TCP) and both ends as ip:port.
    const conn = readFileSync(f.conn, 'utf8').trimEnd().split('\n');
    expect(conn).to.have.length(11);
    const idOfPeer = new Map<string, string>();
    for (const line of conn) {
      const m = /^(\d+) (127\.0\.0\.1:\d+) (127\.0\.0\.1:\d+)$/.exec(line);
      expect(m, line).to.not.equal(null);
      const [, id, remote, local] = m as RegExpExecArray;
      expect(local).to.equal(`127.0.0.1:${port('ingress')}`);
      // One id per connection: a keep-alive connection's requests share it, another connection has another.
      if (idOfPeer.has(remote as string)) expect(idOfPeer.get(remote as string)).to.equal(id);
      idOfPeer.set(remote as string, id as string);
      expect(Number(id)).to.not.equal(tcp[0]!['connection_id']);
    }
    expect(new Set(idOfPeer.values()).size).to.equal(idOfPeer.size);
  });
});
