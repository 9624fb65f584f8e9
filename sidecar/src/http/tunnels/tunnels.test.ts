// WebSocket upgrades and CONNECT tunnels (HTTP/1.1 and HTTP/2) through the handler, with half-close and failures;
// observers (access logs, metrics, tracing) see each tunnel as one request, routed, with its attempt and bytes.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import { expect } from 'chai';
import type { ExchangeObserverFactory, ExchangeSummary } from '../context/exchange-observer.ts';
import {
  listen,
  type ProxyUnderTest,
  parseRawResponses,
  route,
  routeConfig,
  startProxy,
  TestClusters,
  vhost,
} from '../test-harness.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** What an observer saw of one request: its hooks in order, and the summary it ended with. */
interface Seen {
  events: string[];
  summary?: ExchangeSummary;
}

/** An observer factory recording every request of the listener. */
function recorder(seen: Seen[]): ExchangeObserverFactory {
  return {
    forHttp: () => ({
      begin: (req) => {
        const r: Seen = {
          events: [`begin ${req.view.method} ${req.view.authority}${req.view.isConnect ? '' : req.view.path}`],
        };
        seen.push(r);
        return {
          routed: (route, cluster) => r.events.push(`routed ${route?.name ?? '-'} ${cluster ?? '-'}`),
          attemptStart: (_host, n) => r.events.push(`attempt ${n}`),
          attemptEnd: (_host, o) => r.events.push('status' in o ? `answer ${o.status}` : `error ${o.error}`),
          end: (summary) => {
            r.events.push(`end ${summary.status} ${summary.flags || '-'}`);
            r.summary = { ...summary };
          },
        };
      },
    }),
  };
}

/** Waits for the request whose begin event starts with `prefix` to end (socket events, no sleeps). */
async function ended(seen: Seen[], prefix: string): Promise<Seen> {
  for (;;) {
    const r = seen.find((x) => x.events[0]?.startsWith(prefix) && x.summary !== undefined);
    if (r !== undefined) return r;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A WebSocket-ish upstream: answers the upgrade handshake, then echoes raw bytes; /refuse answers 403. */
function wsUpstream(): http.Server {
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.url === '/up/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\r\nno ws 4u');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${WS_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        `X-Seen-Path: ${req.url}\r\nX-Seen-Xff: ${req.headers['x-forwarded-for']}\r\n` +
        `X-Seen-Xfcc: ${req.headers['x-forwarded-client-cert'] ?? 'none'}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  return server;
}

/** Opens a raw client connection and reads until `pattern` shows up. */
async function openAndRead(port: number, request: string, pattern: RegExp): Promise<{ socket: Socket; text: string }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  socket.setEncoding('latin1');
  socket.write(request);
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: string): void => {
      text += chunk;
      if (!pattern.test(text)) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before ${pattern}: ${JSON.stringify(text)}`)));
  });
  return { socket, text };
}

async function readRest(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (d: string) => {
    text += d;
  });
  await once(socket, 'end');
  return text;
}

describe('http handler: WebSocket and CONNECT', () => {
  let ws: http.Server;
  let echo: net.Server;
  let proxy: ProxyUnderTest;
  const sockets = new Set<Socket>();
  const seen: Seen[] = [];

  before(async () => {
    ws = wsUpstream();
    const wsPort = await listen(ws);
    echo = net.createServer({ allowHalfOpen: true }, (s) => {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.pipe(s);
    });
    const echoPort = await listen(echo);
    // Port 1 on loopback: nothing listens there (a freed port can be taken by any later listener of the run).
    const closedPort = 1;
    const clusters = new TestClusters();
    clusters.add('ws', [wsPort]);
    clusters.add('db', [echoPort]);
    clusters.add('down', [closedPort]);
    const routes = routeConfig([
      vhost(
        'ws',
        ['ws.local'],
        [
          route({ prefix: '/nows', cluster: 'ws' }),
          route({ prefix: '/', prefixRewrite: '/up/', cluster: 'ws', upgrades: ['websocket'] }),
        ],
      ),
      vhost('db', ['db.local:5432'], [route({ connect: true, cluster: 'db', upgrades: ['CONNECT'] })]),
      vhost('down', ['down.local:1'], [route({ connect: true, cluster: 'down', upgrades: ['CONNECT'] })]),
      vhost('closed', ['closed.local:1'], [route({ connect: true, cluster: 'db' })]),
      vhost(
        'ws-idle',
        ['wsidle.local'],
        [route({ prefix: '/', prefixRewrite: '/up/', cluster: 'ws', upgrades: ['websocket'], idleTimeoutMs: 150 })],
      ),
      vhost(
        'db-idle',
        ['dbidle.local:5432'],
        [route({ connect: true, cluster: 'db', upgrades: ['CONNECT'], idleTimeoutMs: 300 })],
      ),
    ]);
    proxy = await startProxy(routes, clusters, {}, [recorder(seen)]);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await proxy.close();
    ws.closeAllConnections();
    ws.close();
    echo.close();
  });

  const upgradeRequest = (p: string) =>
    `GET ${p} HTTP/1.1\r\nHost: ws.local\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    // A client's own identity claim: never forwarded (Envoy's default SANITIZE).
    'X-Forwarded-Client-Cert: URI=spiffe://cluster.local/ns/default/sa/admin\r\n\r\n';

  it('relays the 101 and splices both ways', async () => {
    const { socket, text } = await openAndRead(proxy.port, upgradeRequest('/chat'), /\r\n\r\n/);
    const [res] = parseRawResponses(text);
    expect(res?.status).to.equal(101);
    expect(res?.headers['sec-websocket-accept']).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(res?.headers.upgrade).to.equal('websocket');
    expect(res?.headers['x-seen-path']).to.equal('/up/chat');
    expect(res?.headers['x-seen-xff']).to.equal('127.0.0.1');
    expect(res?.headers['x-seen-xfcc']).to.equal('none');
    socket.write('frame-1');
    const [echoed] = (await once(socket, 'data')) as [string];
    expect(echoed).to.equal('frame-1');
    socket.destroy();
  });

  it('an observer sees a WebSocket as one request: routed, one attempt answered 101, bytes both ways', async () => {
    const { socket } = await openAndRead(proxy.port, upgradeRequest('/observed'), /\r\n\r\n/);
    socket.write('12345');
    await once(socket, 'data');
    socket.destroy();
    const r = await ended(seen, 'begin GET ws.local/observed');
    expect(r.events).to.deep.equal([
      'begin GET ws.local/observed',
      'routed route ws',
      'attempt 1',
      'answer 101',
      'end 101 -',
    ]);
    expect(r.summary?.bytesReceived).to.equal(5);
    expect(r.summary?.bytesSent).to.be.at.least(5);
    expect(r.summary?.cluster).to.equal('ws');
  });

  it('an observer sees a CONNECT tunnel (answered 200) and a refused one (503 UF)', async () => {
    const { socket } = await openAndRead(
      proxy.port,
      'CONNECT db.local:5432 HTTP/1.1\r\nHost: db.local:5432\r\n\r\n',
      /\r\n\r\n/,
    );
    socket.write('ping');
    await once(socket, 'data');
    socket.destroy();
    const ok = await ended(seen, 'begin CONNECT db.local:5432');
    expect(ok.events).to.deep.equal([
      'begin CONNECT db.local:5432',
      'routed route db',
      'attempt 1',
      'answer 200',
      'end 200 -',
    ]);
    expect(ok.summary?.bytesReceived).to.equal(4);
    const refused = await openAndRead(
      proxy.port,
      'CONNECT down.local:1 HTTP/1.1\r\nHost: down.local:1\r\n\r\n',
      /\r\n\r\n/,
    );
    refused.socket.destroy();
    const failed = await ended(seen, 'begin CONNECT down.local:1');
    expect(failed.events).to.deep.equal([
      'begin CONNECT down.local:1',
      'routed route down',
      'attempt 1',
      'error connect-failure',
      'end 503 UF',
    ]);
  });

  it('relays a refusal (non-101) and closes', async () => {
    const { socket, text } = await openAndRead(proxy.port, upgradeRequest('/refuse'), /no ws 4u/);
    expect(text).to.match(/^HTTP\/1\.1 403/);
    socket.destroy();
  });

  it('refuses an upgrade the route does not allow', async () => {
    const { socket, text } = await openAndRead(proxy.port, upgradeRequest('/nows'), /\r\n\r\n/);
    expect(text).to.match(/^HTTP\/1\.1 403/);
    socket.destroy();
  });

  it('CONNECT: 200 Connection Established, bytes both ways, half-close forwarded', async () => {
    const { socket, text } = await openAndRead(
      proxy.port,
      'CONNECT db.local:5432 HTTP/1.1\r\nHost: db.local:5432\r\n\r\n',
      /\r\n\r\n/,
    );
    expect(text).to.equal('HTTP/1.1 200 Connection Established\r\n\r\n');
    socket.write('ping');
    const [pong] = (await once(socket, 'data')) as [string];
    expect(pong).to.equal('ping');
    socket.end('last words');
    expect(await readRest(socket)).to.equal('last words');
    socket.destroy();
  });

  it('CONNECT to an unreachable host: 503 UF', async () => {
    const { socket, text } = await openAndRead(
      proxy.port,
      'CONNECT down.local:1 HTTP/1.1\r\nHost: down.local:1\r\n\r\n',
      /\r\n\r\n/,
    );
    expect(text).to.match(/^HTTP\/1\.1 503/);
    expect(text.toLowerCase()).to.include('x-trellis-response-flags: uf');
    socket.destroy();
  });

  it('CONNECT needs the CONNECT upgrade enabled', async () => {
    const { socket, text } = await openAndRead(
      proxy.port,
      'CONNECT closed.local:1 HTTP/1.1\r\nHost: closed.local:1\r\n\r\n',
      /\r\n\r\n/,
    );
    expect(text).to.match(/^HTTP\/1\.1 403/);
    socket.destroy();
  });

  it('HTTP/2 CONNECT stream', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    const stream = session.request({ ':method': 'CONNECT', ':authority': 'db.local:5432' });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    expect(headers[':status']).to.equal(200);
    stream.setEncoding('utf8');
    stream.write('over h2');
    const [back] = (await once(stream, 'data')) as [string];
    expect(back).to.equal('over h2');
    stream.end();
    await once(stream, 'end');
    session.close();
  });

  it('closes an idle WebSocket after the route idle_timeout (downstream_rq_idle_timeout)', async () => {
    const before = proxy.stats.counter('http.test.downstream_rq_idle_timeout');
    const request = upgradeRequest('/chat').replace('Host: ws.local', 'Host: wsidle.local');
    const { socket, text } = await openAndRead(proxy.port, request, /\r\n\r\n/);
    expect(text).to.match(/^HTTP\/1\.1 101/);
    socket.write('frame');
    await once(socket, 'data');
    const lastActivity = performance.now();
    // The proxy closes both sides: our (half-open capable) client sees the end of the stream.
    await once(socket, 'end');
    socket.destroy();
    expect(performance.now() - lastActivity).to.be.at.least(100);
    expect(proxy.stats.counter('http.test.downstream_rq_idle_timeout')).to.equal(before + 1);
  });

  it('keeps a CONNECT tunnel open while bytes flow, closes it once they stop', async () => {
    const { socket, text } = await openAndRead(
      proxy.port,
      'CONNECT dbidle.local:5432 HTTP/1.1\r\nHost: dbidle.local:5432\r\n\r\n',
      /\r\n\r\n/,
    );
    expect(text).to.equal('HTTP/1.1 200 Connection Established\r\n\r\n');
    let closed = false;
    socket.once('end', () => {
      closed = true;
    });
    // 16 round trips 40 ms apart: ~640 ms of traffic, never 300 ms (the route's limit) without a byte.
    const started = performance.now();
    for (let i = 0; i < 16; i++) {
      socket.write(`ping ${i}`);
      const [pong] = (await once(socket, 'data')) as [string];
      expect(pong).to.equal(`ping ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(closed).to.equal(false);
    expect(performance.now() - started).to.be.at.least(600);
    if (!closed) await once(socket, 'end');
    socket.destroy();
  });

  it('HTTP/2 CONNECT: an idle tunnel stream is reset with CANCEL, the session keeps working', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'dbidle.local:5432' });
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      expect(headers[':status']).to.equal(200);
      stream.resume();
      await once(stream, 'close');
      expect(stream.rstCode).to.equal(http2.constants.NGHTTP2_CANCEL);
      const again = session.request({ ':method': 'CONNECT', ':authority': 'db.local:5432' });
      const [ok] = (await once(again, 'response')) as [http2.IncomingHttpHeaders];
      expect(ok[':status']).to.equal(200);
      again.close();
    } finally {
      session.close();
    }
  });
});
