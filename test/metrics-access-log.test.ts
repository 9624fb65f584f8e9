// End to end through two real sidecar processes: /stats/prometheus on each is valid exposition whose request counters,
// latency histograms and per-endpoint counts equal the requests sent; POST /logging turns on debug lines at runtime;
// a Telemetry access log applied with trellisctl reaches the web sidecar, which writes one JSON line per request.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { type ParsedFamily, parsePrometheus, sampleValue } from '../sidecar/src/admin/prometheus-check.ts';
import { type App, startHttpApp } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { viaProxy } from './helpers/http-client.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const SERVICES = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: client }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`;

type Families = Map<string, ParsedFamily>;

async function scrape(sidecar: SidecarProcess): Promise<Families> {
  const r = await sidecar.admin('/stats/prometheus');
  expect(r.status).to.equal(200);
  expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

/** A sample's value (0 when the series does not exist yet). */
function value(f: Families, name: string, labels: Record<string, string>): number {
  return sampleValue(f, name, labels) ?? 0;
}

/** The sum of every sample of `name` whose labels include `labels`. */
function sum(f: Families, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const fam of f.values()) {
    for (const s of fam.parsed) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}

/** Sends one malformed request head to a listener (the HTTP connection manager logs it at debug level). */
function sendMalformed(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

describe('sidecar metrics, access logs and runtime log level (real processes)', function () {
  this.timeout(90_000);
  let dataDir: string;
  let cp: ControlPlaneProcess;
  let app: App;
  let web: SidecarProcess;
  let client: SidecarProcess;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-metrics-'));
    cp = await startControlPlaneProcess(dataDir);
    const applied = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], SERVICES);
    expect(applied.code, applied.stderr).to.equal(0);
    app = await startHttpApp('web');
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    [web, client] = await Promise.all([
      startSidecar({ service: 'web', xds, appPort: app.port }),
      startSidecar({ service: 'client', xds }),
    ]);
    await eventually(async () => {
      const r = await viaProxy(client.outboundPort, 'http://web:8080/warm-up');
      if (r.status !== 200) throw new Error(`warm-up ${r.status}`);
    });
  });

  after(async () => {
    await Promise.all([client?.stop(), web?.stop()]);
    await app?.close();
    await cp?.daemon.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts 7×200 and 3×503 exactly, downstream and upstream, in histograms and per endpoint, on both sidecars', async () => {
    const [clientBefore, webBefore] = await Promise.all([scrape(client), scrape(web)]);
    const paths = [...Array(7).fill('/ok'), ...Array(3).fill('/status/503')] as string[];
    for (const p of paths) {
      const r = await viaProxy(client.outboundPort, `http://web:8080${p}`);
      expect(r.status).to.equal(p === '/ok' ? 200 : 503);
    }
    const [clientAfter, webAfter] = await Promise.all([scrape(client), scrape(web)]);
    const delta = (before: Families, after: Families, name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    const cls = (c: string) => ({ envoy_response_code_class: c });

    // Client sidecar: outbound connection manager, cluster web|8080, its one endpoint (web's inbound listener).
    const out = { envoy_http_conn_manager_prefix: 'outbound' };
    const webCluster = { envoy_cluster_name: 'web|8080' };
    const webEndpoint = { ...webCluster, envoy_endpoint_address: `127.0.0.1:${web.inboundPort}` };
    const c = (name: string, labels: Record<string, string>) => delta(clientBefore, clientAfter, name, labels);
    expect(c('envoy_http_downstream_rq_xx', { ...out, ...cls('2') })).to.equal(7);
    expect(c('envoy_http_downstream_rq_xx', { ...out, ...cls('5') })).to.equal(3);
    expect(c('envoy_http_downstream_rq_time_count', out)).to.equal(10);
    expect(c('envoy_http_downstream_rq_time_bucket', { ...out, le: '+Inf' })).to.equal(10);
    expect(c('envoy_cluster_upstream_rq_xx', { ...webCluster, ...cls('2') })).to.equal(7);
    expect(c('envoy_cluster_upstream_rq_xx', { ...webCluster, ...cls('5') })).to.equal(3);
    expect(c('envoy_cluster_upstream_rq_time_count', webCluster)).to.equal(10);
    expect(c('envoy_cluster_endpoint_upstream_rq_xx', { ...webEndpoint, ...cls('2') })).to.equal(7);
    expect(c('envoy_cluster_endpoint_upstream_rq_xx', { ...webEndpoint, ...cls('5') })).to.equal(3);
    expect(value(clientAfter, 'envoy_cluster_endpoint_upstream_rq_active', webEndpoint)).to.equal(0);
    expect(value(clientAfter, 'envoy_http_downstream_rq_active', out)).to.equal(0);
    const routeBefore = sum(clientBefore, 'envoy_vhost_route_upstream_rq_xx', { envoy_virtual_host: 'web:8080' });
    const routeAfter = sum(clientAfter, 'envoy_vhost_route_upstream_rq_xx', { envoy_virtual_host: 'web:8080' });
    expect(routeAfter - routeBefore).to.equal(10);
    expect(c('envoy_cluster_outlier_detection_ejections_active', webCluster)).to.equal(0);
    expect(sampleValue(clientAfter, 'envoy_cluster_outlier_detection_ejections_enforced_total', webCluster)).to.be.a(
      'number',
    );

    // Web sidecar: inbound connection manager, cluster inbound|<appPort>, the app as its endpoint.
    const inb = { envoy_http_conn_manager_prefix: 'inbound' };
    const appCluster = { envoy_cluster_name: `inbound|${app.port}` };
    const appEndpoint = { ...appCluster, envoy_endpoint_address: `127.0.0.1:${app.port}` };
    const w = (name: string, labels: Record<string, string>) => delta(webBefore, webAfter, name, labels);
    expect(w('envoy_http_downstream_rq_xx', { ...inb, ...cls('2') })).to.equal(7);
    expect(w('envoy_http_downstream_rq_xx', { ...inb, ...cls('5') })).to.equal(3);
    expect(w('envoy_http_downstream_rq_time_count', inb)).to.equal(10);
    expect(w('envoy_cluster_upstream_rq_xx', { ...appCluster, ...cls('2') })).to.equal(7);
    expect(w('envoy_cluster_upstream_rq_xx', { ...appCluster, ...cls('5') })).to.equal(3);
    expect(w('envoy_cluster_upstream_rq_time_count', appCluster)).to.equal(10);
    expect(w('envoy_cluster_endpoint_upstream_rq_xx', { ...appEndpoint, ...cls('2') })).to.equal(7);
    expect(w('envoy_cluster_endpoint_upstream_rq_xx', { ...appEndpoint, ...cls('5') })).to.equal(3);
    expect(w('envoy_http_downstream_cx_rx_bytes_total', inb)).to.be.greaterThan(0);
    expect(w('envoy_http_downstream_cx_tx_bytes_total', inb)).to.be.greaterThan(0);
  });

  it('POST /logging?level=debug makes a running sidecar log debug lines; a bad level is a 400', async () => {
    const malformed = (l: Record<string, unknown>) => l['msg'] === 'malformed HTTP request';
    await sendMalformed(web.inboundPort);
    expect(web.daemon.logs.some(malformed)).to.equal(false);
    const bad = await web.admin('/logging?level=chatty', { method: 'POST' });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain('expected one of trace, debug, info');
    const r = await web.admin('/logging?level=debug', { method: 'POST' });
    expect(r.status).to.equal(200);
    expect(await r.text()).to.contain('root: debug');
    await sendMalformed(web.inboundPort);
    const line = await web.daemon.waitForLog(malformed, 10_000);
    expect(line['level']).to.equal(20);
    expect(await (await web.admin('/logging')).text()).to.match(/^active loggers:\n {2}root: debug\n/);
  });

  it('writes one access log line per request once a Telemetry access log is applied with trellisctl', async () => {
    const logPath = path.join(dataDir, 'web-access.log');
    const telemetry = `apiVersion: trellis.dev/v1
kind: Telemetry
metadata: { name: web-logs }
spec:
  selector: { service: web }
  accessLog: { path: ${logPath} }
`;
    const applied = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], telemetry);
    expect(applied.code, applied.stderr).to.equal(0);
    const rows = (): Record<string, unknown>[] =>
      existsSync(logPath)
        ? readFileSync(logPath, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
    // Once the new inbound listener logs, requests tagged with their own x-request-id are each logged once.
    await eventually(async () => {
      await viaProxy(client.outboundPort, 'http://web:8080/probe');
      if (!rows().some((r) => r['path'] === '/probe')) throw new Error('no access log line yet');
    });
    const sent: { id: string; status: number; bytes: number }[] = [];
    for (const [i, p] of ['/logged/1', '/logged/2', '/status/503', '/logged/3'].entries()) {
      const id = `access-${i}`;
      const r = await viaProxy(client.outboundPort, `http://web:8080${p}`, { headers: { 'x-request-id': id } });
      sent.push({ id, status: r.status, bytes: Buffer.byteLength(r.body) });
    }
    const mine = await eventually(async () => {
      const found = rows().filter((r) => sent.some((s) => s.id === r['x_request_id']));
      if (found.length < sent.length) throw new Error(`${found.length} of ${sent.length} lines`);
      return found;
    });
    expect(mine).to.have.length(sent.length);
    for (const s of sent) {
      const row = mine.find((r) => r['x_request_id'] === s.id);
      expect(row, s.id).to.include({
        method: 'GET',
        protocol: 'HTTP/1.1',
        response_code: s.status,
        response_flags: null,
        bytes_sent: s.bytes,
        upstream_host: `127.0.0.1:${app.port}`,
        upstream_cluster: `inbound|${app.port}`,
        upstream_request_attempt_count: 1,
      });
    }
    expect(sent.map((s) => s.status)).to.deep.equal([200, 200, 503, 200]);
  });
});
