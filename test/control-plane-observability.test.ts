// Control-plane observability end to end with real processes: Telemetry applied with trellisctl reaches sidecars
// (config-dump, access log lines), /metrics shows proxies, pushes, ACKs and convergence, `top` reads real traffic
// through the control plane, and API/push spans reach a real OTLP receiver when the control plane stops.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parsePrometheus } from '../sidecar/src/admin/prometheus-check.ts';
import { type App, startHttpApp } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type OtlpReceiver, startOtlpHttpReceiver } from './helpers/otlp-receiver.ts';
import { BIN, type ControlPlaneProcess, type RunResult, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const MESH = `apiVersion: trellis.dev/v1
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
---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  service: web
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - route: [{ service: web, subset: v1, weight: 80 }, { service: web, subset: v2, weight: 20 }]
`;

function telemetry(samplingPercent: number): string {
  return `apiVersion: trellis.dev/v1
kind: Telemetry
metadata: { name: mesh-default }
spec:
  tracing: { samplingPercent: ${samplingPercent} }
  accessLog:
    path: /dev/stdout
    format: { start: "%START_TIME%", status: "%RESPONSE_CODE%", cluster: "%UPSTREAM_CLUSTER%" }
    samplingPercent: 100
`;
}

type Obj = Record<string, unknown>;

interface ConfigDumpJson {
  proxy: { node_id: string; service: string };
  types: { type_url: string; state: string; resources: { name: string; config: Obj }[] }[];
}

/** The HCM (or TcpProxy) typed_config of a socket listener's only filter. */
function filterConfig(listener: Obj): Obj {
  const chains = listener['filter_chains'] as { filters: { typed_config: Obj }[] }[];
  return chains[0]!.filters[0]!.typed_config;
}

/** Prometheus samples by `name{labels}` (labels as written), after the sidecar validator accepted the text. */
function scrape(text: string): Map<string, number> {
  // prom-client writes "# HELP" lines and blank lines between families, both valid exposition; the shared validator
  // is strict about comments, so check the HELP lines here and hand it the rest.
  const lines = text.split('\n');
  for (const help of lines.filter((l) => l.startsWith('# HELP '))) expect(help).to.match(/^# HELP trellis_cp_\w+ \S/);
  const rest = `${lines.filter((l) => l !== '' && !l.startsWith('# HELP ')).join('\n')}\n`;
  const families = parsePrometheus(rest);
  const out = new Map<string, number>();
  for (const family of families.values()) {
    for (const line of family.samples) {
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return out;
}

describe('control-plane observability: Telemetry, metrics, config-dump, top, tracing', function () {
  this.timeout(120_000);
  let dataDir: string;
  let receiver: OtlpReceiver;
  let cp: ControlPlaneProcess;
  let apps: App[] = [];
  let sidecars: { client: SidecarProcess; webV1: SidecarProcess; webV2: SidecarProcess };
  const ctl = (args: string[], input = ''): Promise<RunResult> =>
    run(BIN.trellisctl, ['--api', cp.api, ...args], input, 30_000);
  const metrics = async (): Promise<Map<string, number>> => {
    const res = await fetch(`http://127.0.0.1:${cp.metricsPort}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return scrape(await res.text());
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-cp-obs-'));
    receiver = await startOtlpHttpReceiver();
    cp = await startControlPlaneProcess(dataDir, ['--tracing-endpoint', receiver.endpoint]);
    const applied = await ctl(['apply', '-f', '-'], MESH);
    expect(applied.code, applied.stderr).to.equal(0);
    const [webV1, webV2] = await Promise.all([startHttpApp('web-v1'), startHttpApp('web-v2')]);
    apps = [webV1, webV2];
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    sidecars = {
      client: await startSidecar({ service: 'client', xds }),
      webV1: await startSidecar({ service: 'web', xds, appPort: webV1.port, labels: { version: 'v1' } }),
      webV2: await startSidecar({ service: 'web', xds, appPort: webV2.port, labels: { version: 'v2' } }),
    };
    // Both subsets reachable through the client's sidecar before any test runs.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        const r = await viaProxy(sidecars.client.outboundPort, 'http://web:8080/warmup');
        expect(r.status, r.body).to.equal(200);
        seen.add(String(r.headers['x-app']));
      }
      expect([...seen].sort()).to.deep.equal(['web-v1', 'web-v2']);
    });
  });

  after(async () => {
    closeHttpClients();
    await Promise.all(Object.values(sidecars ?? {}).map((s) => s.stop()));
    await cp?.daemon.stop();
    await Promise.all(apps.map((a) => a.close()));
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('Telemetry: dry run, apply, get, bad operators refused with the field path', async () => {
    const dry = await ctl(['apply', '-f', '-', '--dry-run'], telemetry(1));
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('telemetry/mesh-default created (dry run)');
    expect((await ctl(['get', 'telemetry'])).stderr).to.equal('No Telemetry resources found.\n');

    const bad = await ctl(
      ['apply', '-f', '-'],
      telemetry(1)
        .replace('"%UPSTREAM_CLUSTER%"', '"%UPSTREAM_LOCAL_ADDRESS%"')
        .replace('{ samplingPercent: 1 }', '{ samplingPercent: 150 }'),
    );
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include(
      'document 1 (Telemetry mesh-default): spec.tracing.samplingPercent: expected a number from 0 to 100, got 150',
    );
    expect(bad.stderr).to.include(
      'document 1 (Telemetry mesh-default): spec.accessLog.format.cluster: unknown command operator %UPSTREAM_LOCAL_ADDRESS%',
    );

    const ok = await ctl(['apply', '-f', '-'], telemetry(1));
    expect(ok.code, ok.stderr).to.equal(0);
    const table = await ctl(['get', 'tel']);
    expect(table.stdout).to.match(/^NAME\s+SELECTOR\s+TRACE SAMPLING\s+ACCESS LOG/);
    expect(table.stdout).to.match(/mesh-default\s+\(mesh\)\s+1%\s+\/dev\/stdout \(100%\)/);
    const yaml = await ctl(['get', 'telemetry', 'mesh-default', '-o', 'yaml']);
    expect(yaml.stdout).to.include('samplingPercent: 1');
  });

  it('config-dump of a real sidecar shows tracing and access_log on both HCMs, ACKed', async () => {
    const dump = await eventually(async () => {
      const r = await ctl(['config-dump', sidecars.webV1.nodeId, '-o', 'json']);
      expect(r.code, r.stderr).to.equal(0);
      const doc = JSON.parse(r.stdout) as ConfigDumpJson;
      const lds = doc.types.find((t) => t.type_url.endsWith('.Listener'));
      expect(lds?.state).to.equal('SYNCED');
      const outbound = lds?.resources.find((l) => l.name === 'outbound');
      expect(filterConfig(outbound!.config)).to.have.property('tracing');
      return doc;
    });
    expect(dump.proxy).to.include({ node_id: sidecars.webV1.nodeId, service: 'web' });
    expect(dump.types.map((t) => t.type_url.split('.').at(-1))).to.deep.equal([
      'Listener',
      'RouteConfiguration',
      'Cluster',
      'ClusterLoadAssignment',
    ]);
    const listeners = dump.types[0]!.resources;
    for (const name of ['inbound', 'outbound']) {
      const hcm = filterConfig(listeners.find((l) => l.name === name)!.config);
      expect(hcm['tracing'], name).to.deep.equal({
        random_sampling: { value: 1 },
        provider: {
          name: 'envoy.tracers.opentelemetry',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
            service_name: 'web',
          },
        },
      });
      expect(hcm['access_log'], name).to.deep.equal([
        {
          name: 'envoy.access_loggers.stdout',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
            log_format: {
              json_format: { start: '%START_TIME%', status: '%RESPONSE_CODE%', cluster: '%UPSTREAM_CLUSTER%' },
            },
          },
          filter: {
            runtime_filter: {
              runtime_key: 'access_log.sampling',
              // Decoded from the wire: fields at their default (denominator HUNDRED) are left out.
              percent_sampled: { numerator: 100 },
            },
          },
        },
      ]);
    }
    const yaml = await ctl(['config-dump', sidecars.client.nodeId]);
    expect(yaml.code, yaml.stderr).to.equal(0);
    expect(yaml.stdout).to.match(/^proxy:\n {2}node_id: client-/);
    const missing = await ctl(['config-dump', 'nope']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: proxy "nope" is not connected \(connected: .*client-/);

    // The sidecar writes the configured JSON access log line for a request that went through it: once its own
    // listeners carry the access log (ACKed), on a new connection (one from before keeps the old listener config).
    await eventually(async () => {
      const r = await ctl(['config-dump', sidecars.client.nodeId, '-o', 'json']);
      const doc = JSON.parse(r.stdout) as ConfigDumpJson;
      const lds = doc.types.find((t) => t.type_url.endsWith('.Listener'));
      expect(lds?.state).to.equal('SYNCED');
      const outbound = lds?.resources.find((l) => l.name === 'outbound');
      expect(filterConfig(outbound!.config)).to.have.property('access_log');
    });
    const r = await viaProxy(sidecars.client.outboundPort, 'http://web:8080/logged', { fresh: true });
    expect(r.status).to.equal(200);
    const line = await sidecars.client.daemon.waitForLog(
      (l) => typeof l['cluster'] === 'string' && String(l['cluster']).startsWith('web|8080|'),
    );
    expect(Object.keys(line).sort()).to.deep.equal(['cluster', 'start', 'status']);
    expect(String(line['status'])).to.equal('200');
  });

  it('GET /metrics: connected proxies, pushes, ACKs, and a convergence count that grows after an apply', async () => {
    const health = await fetch(`http://127.0.0.1:${cp.metricsPort}/healthz`);
    expect(health.status).to.equal(200);
    const before = await metrics();
    expect(before.get('trellis_cp_connected_proxies{client_kind="sidecar"}')).to.equal(3);
    expect(before.get('trellis_cp_connected_proxies{client_kind="proxyless"}')).to.equal(0);
    const lds = 'type_url="type.googleapis.com/envoy.config.listener.v3.Listener"';
    expect(before.get(`trellis_cp_xds_pushes_total{${lds}}`)).to.be.greaterThan(0);
    expect(before.get(`trellis_cp_xds_acks_total{${lds}}`)).to.be.greaterThan(0);
    expect(before.get('trellis_cp_api_requests_total{method="Apply",code="OK"}')).to.be.greaterThan(0);
    expect(before.get('trellis_cp_api_requests_total{method="ConfigDump",code="NOT_FOUND"}')).to.equal(1);
    const converged = before.get('trellis_cp_convergence_seconds_count') ?? 0;

    const applied = await ctl(['apply', '-f', '-'], telemetry(5));
    expect(applied.code, applied.stderr).to.equal(0);
    const after = await eventually(async () => {
      const m = await metrics();
      expect(m.get('trellis_cp_convergence_seconds_count')).to.equal(converged + 1);
      return m;
    });
    expect(after.get('trellis_cp_convergence_seconds_bucket{le="+Inf"}')).to.equal(converged + 1);
    expect(after.get('trellis_cp_convergence_seconds_sum')).to.be.greaterThan(
      before.get('trellis_cp_convergence_seconds_sum') ?? 0,
    );
    expect(after.get(`trellis_cp_xds_pushes_total{${lds}}`)).to.be.at.least(
      (before.get(`trellis_cp_xds_pushes_total{${lds}}`) ?? 0) + 3,
    );
    expect(after.get(`trellis_cp_xds_push_latency_seconds_count{${lds}}`)).to.be.greaterThan(0);
    expect(after.get(`trellis_cp_xds_nacks_total{${lds}}`) ?? 0).to.equal(0);
  });

  it('top --once -o json: the service with rps > 0 and its upstream split, from real traffic via the control plane', async () => {
    let stop = false;
    let sent = 0;
    const load = (async () => {
      // Bounded: sequential requests until top has its two readings, at most 3000.
      while (!stop && sent < 3000) {
        const r = await viaProxy(sidecars.client.outboundPort, 'http://web:8080/top');
        expect(r.status).to.equal(200);
        sent++;
      }
    })();
    let top: RunResult;
    try {
      top = await ctl(['top', '--once', '-o', 'json', '--interval', '1500ms']);
    } finally {
      stop = true;
      await load;
    }
    expect(top.code, top.stderr).to.equal(0);
    const json = JSON.parse(top.stdout) as {
      intervalSeconds: number;
      services: {
        service: string;
        proxies: number;
        rps: number;
        successRate: number | null;
        upstreams: { cluster: string; share: number }[];
      }[];
      unreachable: unknown[];
    };
    expect(json.unreachable).to.deep.equal([]);
    expect(json.intervalSeconds).to.be.within(1.4, 5);
    const web = json.services.find((s) => s.service === 'web');
    expect(web, top.stdout).to.not.equal(undefined);
    expect(web!.proxies).to.equal(2);
    expect(web!.rps).to.be.greaterThan(0);
    expect(web!.successRate).to.equal(1);
    const shares = new Map(web!.upstreams.map((u) => [u.cluster, u.share]));
    expect([...shares.keys()].sort()).to.deep.equal(['web|8080|v1', 'web|8080|v2']);
    // 80/20 by route weight over the requests of one interval (typically several hundred).
    expect(shares.get('web|8080|v1')).to.be.within(0.6, 0.95);
    expect(json.services.find((s) => s.service === 'client')?.proxies).to.equal(1);

    const table = await ctl(['top', '--interval', '200ms']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/^trellis top: 3 sidecars over/);
    expect(table.stdout).to.match(
      /SERVICE\s+PROXIES\s+RPS\s+SUCCESS\s+P50 MS\s+P99 MS\s+TCP CX\/S\s+TCP KB\/S\s+EJECTED\s+UPSTREAM SPLIT/,
    );
  });

  it('API calls and xDS pushes arrive as spans at a real OTLP receiver, flushed on SIGTERM', async () => {
    const code = await cp.daemon.stop('SIGTERM');
    expect(code).to.equal(0);
    const applies = await receiver.waitForSpans(
      1,
      (s) =>
        s.name === 'trellis.admin.v1.AdminService/Apply' &&
        s.attributes['trellis.outcome'] === 'ok' &&
        s.attributes['trellis.changed'] === 1,
    );
    for (const span of applies) {
      expect(span.serviceName).to.equal('trellis-control-plane');
      expect(span.kind).to.equal(2);
      expect(span.attributes).to.include({ 'rpc.system': 'grpc', 'rpc.method': 'Apply', 'rpc.grpc.status_code': 0 });
    }
    const refused = receiver.spans.find(
      (s) => s.name === 'trellis.admin.v1.AdminService/ConfigDump' && s.attributes['trellis.outcome'] === 'NOT_FOUND',
    );
    expect(refused?.statusCode).to.equal(2);
    expect(refused?.statusMessage).to.match(/^proxy "nope" is not connected/);
    expect(refused?.attributes['trellis.resources']).to.equal('Proxy/nope');
    expect(applies.some((s) => s.attributes['trellis.resources'] === 'Telemetry/mesh-default')).to.equal(true);
    expect(receiver.spans.some((s) => s.name === 'trellis.admin.v1.AdminService/MeshStats')).to.equal(true);
    expect(receiver.spans.some((s) => s.name === 'trellis.admin.v1.AdminService/ConfigDump')).to.equal(true);
    const pushes = receiver.spans.filter((s) => s.name === 'xds.push');
    const nodes = new Set(pushes.map((s) => s.attributes['xds.node_id']));
    for (const sidecar of Object.values(sidecars)) expect(nodes.has(sidecar.nodeId), sidecar.nodeId).to.equal(true);
    const acked = pushes.find(
      (s) => s.attributes['xds.outcome'] === 'ack' && String(s.attributes['xds.type_url']).endsWith('.Listener'),
    );
    expect(acked?.attributes['xds.resource_count']).to.be.greaterThan(0);
    expect(acked?.attributes['xds.version']).to.be.a('string').and.not.equal('');
  });
});
