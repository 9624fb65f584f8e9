// End to end tracing through real sidecars exporting to a real OTLP receiver:
// client → A's sidecar (outbound) → B's sidecar (inbound) → app B → B's sidecar (outbound) → C's sidecar → app C.

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { App, Seen } from './helpers/apps.ts';
import { startHttpApp } from './helpers/apps.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SPAN_KIND_CLIENT,
  SPAN_KIND_SERVER,
  startOtlpGrpcReceiver,
  startOtlpHttpReceiver,
} from './helpers/otlp-receiver.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const SERVICES = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: a }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: b }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: Service
metadata: { name: c }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`;

/** Headers a real app forwards from its incoming request to the requests it makes (trace context). */
const FORWARDED = ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled'];

/** App B: calls C through its own sidecar's outbound listener, forwarding the trace headers; answers with C's reply. */
async function startAppB(outboundPort: () => number): Promise<App> {
  const server = http.createServer((req, res) => {
    req.resume();
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    viaProxy(outboundPort(), `http://c:8080/leaf${req.url ?? ''}`, { headers }).then(
      (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ b: req.headers, c: JSON.parse(r.body) as Seen }));
      },
      (err: unknown) => {
        res.writeHead(500).end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name: 'b',
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface ChainReply {
  b: http.IncomingHttpHeaders;
  c: Seen;
}

const TRACE = (id: string) => (s: ReceivedSpan) => s.traceId === id;
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

describe('tracing: spans from real sidecars reach an OTLP receiver', function () {
  this.timeout(90_000);
  let dir: string;
  let cp: ControlPlaneProcess;
  let receiver: OtlpReceiver;
  let appB: App;
  let appC: App;
  const sidecars: SidecarProcess[] = [];
  let a: SidecarProcess;
  let b: SidecarProcess;

  const tracingArgs = (endpoint: string, extra: string[] = []) => [
    '--tracing-endpoint',
    endpoint,
    '--tracing-sampling',
    '100',
    '--tracing-batch-delay',
    '20ms',
    ...extra,
  ];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-tracing-'));
    receiver = await startOtlpHttpReceiver();
    cp = await startControlPlaneProcess(dir);
    const applied = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], SERVICES);
    expect(applied.code, applied.stderr).to.equal(0);
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    appC = await startHttpApp('c');
    appB = await startAppB(() => b.outboundPort);
    const [sa, sb, sc] = await Promise.all([
      startSidecar({ service: 'a', xds, extraArgs: tracingArgs(receiver.endpoint) }),
      startSidecar({ service: 'b', xds, appPort: appB.port, extraArgs: tracingArgs(receiver.endpoint) }),
      startSidecar({ service: 'c', xds, appPort: appC.port, extraArgs: tracingArgs(receiver.endpoint) }),
    ]);
    a = sa;
    b = sb;
    sidecars.push(sa, sb, sc);
  });

  after(async () => {
    closeHttpClients();
    await Promise.all(sidecars.map((s) => s.stop()));
    await cp?.daemon.stop();
    await Promise.all([appB?.close(), appC?.close(), receiver?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Sends through A until B and C are routable (endpoints arrive over xDS after the sidecars are ready). */
  async function chain(headers: Record<string, string> = {}, suffix = ''): Promise<ChainReply> {
    for (let i = 0; ; i++) {
      const r = await viaProxy(a.outboundPort, `http://b:8080/chain${suffix}`, { headers });
      if (r.status === 200) return JSON.parse(r.body) as ChainReply;
      if (i > 100 || (r.status !== 503 && r.status !== 404)) throw new Error(`chain: ${r.status} ${r.body}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('one trace with the full parent/child chain, statuses and attributes', async () => {
    const traceId = hex(32);
    const rootSpan = hex(16);
    const reply = await chain({ traceparent: `00-${traceId}-${rootSpan}-01`, tracestate: 'vendor=x' });
    const spans = await receiver.waitForSpans(6, TRACE(traceId));
    expect(spans).to.have.length(6);
    const find = (service: string, kind: number, peer?: string): ReceivedSpan => {
      const s = spans.find(
        (x) =>
          x.serviceName === service && x.kind === kind && (peer === undefined || x.attributes['peer.service'] === peer),
      );
      expect(s, `${service} kind ${kind} ${peer ?? ''}`).to.not.equal(undefined);
      return s as ReceivedSpan;
    };
    const aClient = find('a', SPAN_KIND_CLIENT);
    const bServer = find('b', SPAN_KIND_SERVER);
    const bClient = find('b', SPAN_KIND_CLIENT, 'b');
    const bOutbound = find('b', SPAN_KIND_CLIENT, 'c');
    const cServer = find('c', SPAN_KIND_SERVER);
    const cClient = find('c', SPAN_KIND_CLIENT);
    expect(aClient.parentSpanId).to.equal(rootSpan);
    expect(bServer.parentSpanId).to.equal(aClient.spanId);
    expect(bClient.parentSpanId).to.equal(bServer.spanId);
    expect(bOutbound.parentSpanId).to.equal(bClient.spanId);
    expect(cServer.parentSpanId).to.equal(bOutbound.spanId);
    expect(cClient.parentSpanId).to.equal(cServer.spanId);
    // What app C saw is the context of C's client span; tracestate travelled unchanged.
    expect(reply.c.headers['traceparent']).to.equal(`00-${traceId}-${cClient.spanId}-01`);
    expect(reply.c.headers['tracestate']).to.equal('vendor=x');
    for (const s of spans) {
      expect(s.attributes['http.request.method'], s.name).to.equal('GET');
      expect(s.attributes['http.response.status_code'], s.name).to.equal(200);
      expect(s.statusCode, s.name).to.equal(0);
      expect(s.endNanos >= s.startNanos, s.name).to.equal(true);
    }
    expect(aClient.attributes).to.include({
      'url.path': '/chain',
      'peer.service': 'b',
      upstream_cluster: 'b|8080',
      'server.address': '127.0.0.1',
      'server.port': b.inboundPort,
      'trellis.direction': 'egress',
    });
    expect(aClient.name).to.match(/^GET /);
    expect(bServer.attributes).to.include({ 'trellis.direction': 'ingress', 'client.address': '127.0.0.1' });
    expect(bClient.attributes['upstream_cluster']).to.match(/^inbound\|/);
    expect(bOutbound.attributes).to.include({ 'url.path': '/leaf/chain', upstream_cluster: 'c|8080' });
    expect(cClient.attributes).to.include({ 'server.port': appC.port, 'peer.service': 'c' });
    // A client span of the egress brackets the server span of the next hop. The two come from different processes,
    // each turning its monotonic clock into wall-clock time with its own time origin: allow 5 ms of skew (a VM wall clock gets stepped).
    const skew = 5_000_000n;
    expect(aClient.startNanos <= bServer.startNanos + skew, 'starts before').to.equal(true);
    expect(aClient.endNanos + skew >= bServer.endNanos, 'ends after').to.equal(true);
  });

  it('a request that starts a trace gets one trace id across every hop', async () => {
    const reply = await chain({}, '?fresh=1');
    const tp = String(reply.c.headers['traceparent']);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(tp);
    expect(m, tp).to.not.equal(null);
    const spans = await receiver.waitForSpans(6, TRACE((m as RegExpExecArray)[1] as string));
    const root = spans.filter((s) => s.parentSpanId === '');
    expect(root).to.have.length(1);
    expect(root[0]?.serviceName).to.equal('a');
  });

  it('a 5xx from the app marks the spans of that request as errors', async () => {
    const traceId = hex(32);
    const reply = await viaProxy(a.outboundPort, 'http://c:8080/status/503', {
      headers: { traceparent: `00-${traceId}-${hex(16)}-01` },
    });
    expect(reply.status).to.equal(503);
    const spans = await receiver.waitForSpans(3, TRACE(traceId));
    for (const s of spans) {
      expect(s.statusCode, s.name).to.equal(2);
      expect(s.attributes['http.response.status_code'], s.name).to.equal(503);
      expect(s.attributes['error.type'], s.name).to.equal('503');
    }
  });

  it('an unsampled request exports nothing while its traceparent still reaches app C', async () => {
    const traceId = hex(32);
    const parent = hex(16);
    const reply = await chain({ traceparent: `00-${traceId}-${parent}-00` }, '?unsampled=1');
    expect(reply.c.headers['traceparent']).to.equal(`00-${traceId}-${parent}-00`);
    // A sampled request after it flushes every sidecar's queue in order: once its spans are in, none can follow.
    const after = hex(32);
    await chain({ traceparent: `00-${after}-${hex(16)}-01` });
    await receiver.waitForSpans(6, TRACE(after));
    expect(receiver.spans.filter(TRACE(traceId))).to.have.length(0);
  });

  it('a B3 request joins its trace id and keeps B3 headers consistent to the next hop', async () => {
    const traceId = hex(32);
    const parent = hex(16);
    const reply = await chain({ b3: `${traceId}-${parent}-1` }, '?b3=1');
    const spans = await receiver.waitForSpans(6, TRACE(traceId));
    const aClient = spans.find((s) => s.serviceName === 'a');
    expect(aClient?.parentSpanId).to.equal(parent);
    const cClient = spans.find((s) => s.serviceName === 'c' && s.kind === SPAN_KIND_CLIENT) as ReceivedSpan;
    expect(reply.c.headers['traceparent']).to.equal(`00-${traceId}-${cClient.spanId}-01`);
    expect(reply.c.headers['b3']).to.equal(`${traceId}-${cClient.spanId}-1-${cClient.parentSpanId}`);
    // Multi-header B3, 64-bit trace id: padded to 128 bits.
    const short = hex(16);
    const multi = await chain({ 'x-b3-traceid': short, 'x-b3-spanid': hex(16), 'x-b3-sampled': '1' }, '?b3=multi');
    expect(multi.c.headers['x-b3-traceid']).to.equal(`0000000000000000${short}`);
    await receiver.waitForSpans(6, TRACE(`0000000000000000${short}`));
  });

  it('exports over OTLP/gRPC too', async () => {
    const grpcReceiver = await startOtlpGrpcReceiver();
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    const g = await startSidecar({
      service: 'a',
      xds,
      extraArgs: tracingArgs(grpcReceiver.endpoint, ['--tracing-protocol', 'grpc']),
    });
    sidecars.push(g);
    try {
      const traceId = hex(32);
      const r = await viaProxy(g.outboundPort, 'http://c:8080/grpc-export', {
        headers: { traceparent: `00-${traceId}-${hex(16)}-01` },
      });
      expect(r.status).to.equal(200);
      const [span] = await grpcReceiver.waitForSpans(1, TRACE(traceId));
      expect(span?.kind).to.equal(SPAN_KIND_CLIENT);
      expect(span?.attributes['peer.service']).to.equal('c');
      // C's spans went to the HTTP receiver, in the same trace.
      await receiver.waitForSpans(2, TRACE(traceId));
    } finally {
      await g.stop();
      await grpcReceiver.close();
    }
  });

  it('flushes queued spans on SIGTERM', async () => {
    const http2 = await startOtlpHttpReceiver();
    const xds = `127.0.0.1:${cp.xdsInsecurePort}`;
    // A batch delay far beyond the test: only the shutdown flush can deliver the span.
    const s = await startSidecar({
      service: 'a',
      xds,
      extraArgs: ['--tracing-endpoint', http2.endpoint, '--tracing-batch-delay', '10m'],
    });
    try {
      const traceId = hex(32);
      const r = await viaProxy(s.outboundPort, 'http://c:8080/flush', {
        headers: { traceparent: `00-${traceId}-${hex(16)}-01` },
      });
      expect(r.status).to.equal(200);
      expect(http2.spans).to.have.length(0);
      await s.stop();
      const spans = await http2.waitForSpans(1, TRACE(traceId), 1);
      expect(spans[0]?.serviceName).to.equal('a');
    } finally {
      await s.stop();
      await http2.close();
    }
  });

  it("a Telemetry applied with trellisctl overrides the sidecars' sampling ratio live; a sampled parent still wins", async () => {
    const telemetry = (percent: number) => `apiVersion: trellis.dev/v1
kind: Telemetry
metadata: { name: mesh }
spec:
  tracing: { samplingPercent: ${percent} }
`;
    const apply = async (percent: number) => {
      const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], telemetry(percent));
      expect(r.code, r.stderr).to.equal(0);
    };
    try {
      await apply(0);
      // The sidecars' own ratio is 100%: a fresh request reaches C unsampled only once 0% is in force on every hop.
      let unsampled: string | undefined;
      for (let i = 0; unsampled === undefined; i++) {
        expect(i, 'the 0% sampling never took effect').to.be.below(500);
        const reply = await chain({}, `?telemetry=${i}`);
        const tp = reply.c.headers['traceparent'];
        if (typeof tp === 'string' && tp.endsWith('-00')) unsampled = tp.split('-')[1];
        else await new Promise((resolve) => setImmediate(resolve));
      }
      const more = await chain({}, '?telemetry=more');
      const moreId = String(more.c.headers['traceparent']).split('-')[1] as string;
      const sampled = hex(32);
      await chain({ traceparent: `00-${sampled}-${hex(16)}-01` });
      await receiver.waitForSpans(6, TRACE(sampled));
      expect(receiver.spans.filter(TRACE(unsampled as string))).to.have.length(0);
      expect(receiver.spans.filter(TRACE(moreId))).to.have.length(0);
      // Back to 100%: requests that start a trace are exported again.
      await apply(100);
      for (let i = 0; ; i++) {
        expect(i, 'the 100% sampling never took effect').to.be.below(500);
        const reply = await chain({}, `?telemetry=back${i}`);
        const tp = reply.c.headers['traceparent'];
        if (typeof tp === 'string' && tp.endsWith('-01')) {
          await receiver.waitForSpans(6, TRACE(tp.split('-')[1] as string));
          break;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await run(BIN.trellisctl, ['--api', cp.api, 'delete', 'telemetry', 'mesh']);
    }
  });
});
