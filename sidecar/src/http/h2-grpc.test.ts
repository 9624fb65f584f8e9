// HTTP/2 through the handler: h2c downstream, gRPC unary / bidi / errors / deadlines to grpc-js, and h1 ↔ h2 translation.
import { once } from 'node:events';
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import {
  echoHandler,
  listen,
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

interface EchoRequest {
  message: string;
}
interface EchoReply {
  message: string;
  backend: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(path.join(here, 'testdata', 'echo.proto'), { keepCase: true, defaults: true });
const pkg = grpc.loadPackageDefinition(definition);
const Echo = ((pkg.trellis as grpc.GrpcObject).httptest as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;
const methods = Echo.service;

async function startGrpcServer(name: string, hung: (() => void)[]): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(methods, {
    Unary: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const md = new grpc.Metadata();
      md.set('x-request-id-seen', String(call.metadata.get('x-request-id')[0] ?? ''));
      call.sendMetadata(md);
      cb(null, { message: call.request.message, backend: name });
    },
    Chat: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      call.on('data', (req: EchoRequest) => call.write({ message: `echo:${req.message}`, backend: name }));
      call.on('end', () => call.end());
    },
    Fail: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      cb({ code: Number(call.request.message), details: `failed on ${name}` });
    },
    Hang: (_call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      hung.push(() => cb({ code: grpc.status.CANCELLED, details: 'test over' }));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, server };
}

function unary(client: grpc.Client, method: string, message: string, options: grpc.CallOptions = {}) {
  const m = methods[method] as grpc.MethodDefinition<EchoRequest, EchoReply>;
  return new Promise<{ reply: EchoReply; metadata: grpc.Metadata }>((resolve, reject) => {
    let metadata = new grpc.Metadata();
    const call = client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { message },
      new grpc.Metadata(),
      options,
      (err, reply) => (err || reply === undefined ? reject(err) : resolve({ reply, metadata })),
    );
    call.on('metadata', (md: grpc.Metadata) => {
      metadata = md;
    });
  });
}

describe('http handler: HTTP/2 and gRPC', () => {
  const hung: (() => void)[] = [];
  let grpcServer: { port: number; server: grpc.Server };
  const grpcLike: http2.Http2Server[] = [];
  let web: Awaited<ReturnType<typeof startHttpUpstream>>;
  let h2Upstream: http2.Http2Server;
  let proxy: ProxyUnderTest;
  let client: grpc.Client;

  before(async () => {
    grpcServer = await startGrpcServer('grpc-a', hung);
    // Two gRPC-shaped h2 upstreams: one answers trailers-only UNAVAILABLE, the other OK with trailers.
    const down = http2.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'down' });
      res.end();
    });
    const up = http2.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/grpc', 'x-answered-by': 'up' });
      res.addTrailers({ 'grpc-status': '0' });
      res.end();
    });
    grpcLike.push(down, up);
    const downPort = await listen(down);
    const upPort = await listen(up);
    web = await startHttpUpstream(echoHandler('web'));
    h2Upstream = http2.createServer((req, res) => {
      res.setHeader('x-proto', `h${req.httpVersionMajor}`);
      res.end(`h2 upstream saw ${req.method} ${req.url} host=${req.headers[':authority']}`);
    });
    const h2Port = await listen(h2Upstream);
    const clusters = new TestClusters();
    clusters.add('grpc', [grpcServer.port], { protocol: 'http2' });
    clusters.add('grpc-flaky', [downPort, upPort], { protocol: 'http2' });
    clusters.add('web', [web.port]);
    clusters.add('h2web', [h2Port], { protocol: 'http2' });
    // Sends GOAWAY after every response: each request must find (or open) a usable session.
    const goaway = http2.createServer((req, res) => {
      const session = req.stream.session;
      res.end(`answered on session ${session === undefined ? 0 : (sessionIds.get(session) ?? 0)}`);
      session?.close();
    });
    const sessionIds = new WeakMap<object, number>();
    let nextSession = 0;
    goaway.on('session', (session) => sessionIds.set(session, ++nextSession));
    grpcLike.push(goaway);
    clusters.add('goaway', [await listen(goaway)], { protocol: 'http2' });
    const routes = routeConfig([
      vhost('grpc', ['grpc.local', 'grpc.local:*'], [route({ prefix: '/', cluster: 'grpc' })]),
      vhost(
        'grpc-flaky',
        ['flaky.grpc'],
        [route({ cluster: 'grpc-flaky', retry: { retryOn: ['unavailable'], numRetries: 2 } })],
      ),
      vhost('h2web', ['h2.local'], [route({ prefix: '/', cluster: 'h2web' })]),
      vhost('goaway', ['goaway.local'], [route({ cluster: 'goaway' })]),
      vhost('web', ['*'], [route({ prefix: '/', cluster: 'web' })]),
    ]);
    proxy = await startProxy(routes, clusters);
    client = new grpc.Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'grpc.local',
    });
  });

  after(async () => {
    for (const release of hung) release();
    client.close();
    await proxy.close();
    grpcServer.server.forceShutdown();
    for (const s of grpcLike) s.close();
    h2Upstream.close();
    await web.close();
  });

  it('gRPC unary through the proxy, request id added on the way', async () => {
    const { reply, metadata } = await unary(client, 'Unary', 'hi');
    expect(reply).to.deep.equal({ message: 'hi', backend: 'grpc-a' });
    expect(String(metadata.get('x-request-id-seen')[0])).to.match(/^[0-9a-f-]{36}$/);
  });

  it('gRPC errors keep their status and message (trailers pass through)', async () => {
    const err = (await unary(client, 'Fail', String(grpc.status.NOT_FOUND)).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(err.code).to.equal(grpc.status.NOT_FOUND);
    expect(err.details).to.equal('failed on grpc-a');
  });

  it('retries a trailers-only grpc-status UNAVAILABLE on another host (bodiless request)', async () => {
    // grpc-js clients always send a body, and only bodiless requests are retried for now: speak raw HTTP/2.
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    try {
      for (let i = 0; i < 3; i++) {
        const stream = session.request(
          { ':method': 'POST', ':path': '/svc/Call', ':authority': 'flaky.grpc', 'content-type': 'application/grpc' },
          { endStream: true },
        );
        const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        const trailers = once(stream, 'trailers') as Promise<[http2.IncomingHttpHeaders]>;
        stream.resume();
        expect(headers[':status']).to.equal(200);
        expect(headers['x-answered-by']).to.equal('up');
        expect((await trailers)[0]['grpc-status']).to.equal('0');
      }
      expect(proxy.stats.counter('cluster.grpc-flaky.upstream_rq_retry')).to.be.greaterThan(0);
    } finally {
      session.close();
    }
  });

  it('gRPC bidi streaming: each message answered before the next is sent', async () => {
    const m = methods.Chat as grpc.MethodDefinition<EchoRequest, EchoReply>;
    const call = client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      new grpc.Metadata(),
      {},
    );
    const replies: string[] = [];
    const next = () => new Promise<EchoReply>((resolve) => call.once('data', resolve));
    for (const word of ['one', 'two', 'three']) {
      const reply = next();
      call.write({ message: word });
      replies.push((await reply).message);
    }
    const ended = new Promise<void>((resolve) => call.on('status', () => resolve()));
    call.end();
    await ended;
    expect(replies).to.deep.equal(['echo:one', 'echo:two', 'echo:three']);
  });

  it('honours grpc-timeout as a deadline: DEADLINE_EXCEEDED from the proxy', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    const m = methods.Hang as grpc.MethodDefinition<EchoRequest, EchoReply>;
    const stream = session.request({
      ':method': 'POST',
      ':path': m.path,
      ':authority': 'grpc.local',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '100m',
    });
    const body = m.requestSerialize({ message: 'wait' });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    stream.end(frame);
    const [headers, flags] = await new Promise<[http2.IncomingHttpHeaders, number]>((resolve) =>
      stream.once('response', (h, f) => resolve([h, f])),
    );
    stream.resume();
    session.close();
    expect(headers[':status']).to.equal(200);
    expect(headers['grpc-status']).to.equal(String(grpc.status.DEADLINE_EXCEEDED));
    expect(headers['x-trellis-response-flags']).to.equal('UT');
    expect(flags & http2.constants.NGHTTP2_FLAG_END_STREAM).to.not.equal(0);
    expect(proxy.stats.counter('cluster.grpc.upstream_rq_timeout')).to.equal(1);
  });

  it('h2c downstream to an HTTP/1.1 upstream', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    const stream = session.request({ ':path': '/from-h2?x=1', ':authority': 'shop.local', cookie: 'a=1' });
    stream.end();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
    let body = '';
    stream.setEncoding('utf8');
    for await (const chunk of stream) body += chunk;
    session.close();
    expect(headers[':status']).to.equal(200);
    const seen = JSON.parse(body) as { url: string; headers: Record<string, string> };
    expect(seen.url).to.equal('/from-h2?x=1');
    expect(seen.headers.host).to.equal('shop.local');
    expect(seen.headers.cookie).to.equal('a=1');
  });

  it('HTTP/1.1 downstream to an HTTP/2 upstream', async () => {
    const res = await send(proxy.port, '/from-h1', { headers: { host: 'h2.local' } });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('h2 upstream saw GET /from-h1 host=h2.local');
    expect(res.headers['x-proto']).to.equal('h2');
    // The session's socket counts as the cluster's upstream connection bytes (frames both ways, so above the body).
    expect(proxy.stats.counter('cluster.h2web.upstream_cx_rx_bytes_total')).to.be.greaterThan(res.body.length);
    expect(proxy.stats.counter('cluster.h2web.upstream_cx_tx_bytes_total')).to.be.greaterThan(0);
  });

  it('opens a new upstream session after GOAWAY', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send(proxy.port, '/', { headers: { host: 'goaway.local' } });
      expect(res.status).to.equal(200);
      answers.push(res.body);
    }
    expect(answers).to.deep.equal(['answered on session 1', 'answered on session 2', 'answered on session 3']);
  });

  it('HTTP/1.1 POST body to an HTTP/2 upstream', async () => {
    const res = await send(proxy.port, '/post', { method: 'POST', headers: { host: 'h2.local' }, body: 'payload' });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('h2 upstream saw POST /post host=h2.local');
  });
});
