// The HTTP/1.1 upstream client through the handler: reuse, stale connections, framing, trailers, bodies, limits, aborts.
import { once } from 'node:events';
import net, { type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { Agent, request } from 'undici';
import {
  echoed,
  echoHandler,
  listen,
  type ProxyUnderTest,
  parseRawResponses,
  rawExchange,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

/** A raw TCP upstream: `script` gets each request head (and the socket) and writes whatever it likes. */
function scripted(script: (head: string, socket: Socket, connection: number) => void): {
  server: Server;
  connections: () => number;
} {
  let connections = 0;
  const server = net.createServer((socket) => {
    const id = ++connections;
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('data', (d: string) => {
      buf += d;
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        // Body bytes that happen to contain a blank line (a chunked terminator) are not requests.
        if (/^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(head)) script(head, socket, id);
      }
    });
  });
  return { server, connections: () => connections };
}

describe('http handler: HTTP/1.1 upstream client', () => {
  const servers: Server[] = [];
  const clusters = new TestClusters();
  let proxy: ProxyUnderTest;
  let echo: Awaited<ReturnType<typeof startHttpUpstream>>;
  let stale: ReturnType<typeof scripted>;
  let lastHead = '';
  const hung = scripted(() => undefined);

  const add = async (name: string, s: { server: Server }): Promise<void> => {
    servers.push(s.server);
    clusters.add(name, [await listen(s.server)]);
  };

  before(async () => {
    echo = await startHttpUpstream(echoHandler('echo'));
    clusters.add('echo', [echo.port], {
      circuitBreakers: { maxConnections: 1, maxPendingRequests: 100, maxRequests: 100, maxRetries: 3 },
    });
    // Answers the first request of each connection; a second one finds the connection closed (a keep-alive race).
    const served = new Set<number>();
    stale = scripted((_head, socket, connection) => {
      if (served.has(connection)) {
        socket.destroy();
        return;
      }
      served.add(connection);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    await add('stale', stale);
    await add(
      'chunked',
      scripted((_head, socket) =>
        socket.write(
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n' +
            '3\r\nabc\r\n3\r\ndef\r\n0\r\nx-checksum: 42\r\nx-trellis-secret: no\r\n\r\n',
        ),
      ),
    );
    await add(
      'until-close',
      scripted((_head, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it')),
    );
    await add(
      'broken',
      scripted((_head, socket) =>
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'),
      ),
    );
    await add(
      'record',
      scripted((head, socket) => {
        lastHead = head;
        socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      }),
    );
    await add(
      'big',
      scripted((_head, socket) => {
        const body = Buffer.alloc(4 * 1024 * 1024, 'x');
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
      }),
    );
    await add('hung', hung);
    await add(
      'refuser',
      scripted((_head, socket) =>
        socket.end('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!'),
      ),
    );
    const routes = routeConfig([
      vhost(
        'v',
        ['*'],
        [
          route({ prefix: '/hang', cluster: 'hung' }),
          route({ prefix: '/upload', cluster: 'refuser' }),
          route({ prefix: '/stale', cluster: 'stale' }),
          route({ prefix: '/chunked', cluster: 'chunked' }),
          route({ prefix: '/until-close', cluster: 'until-close' }),
          route({ prefix: '/broken', cluster: 'broken' }),
          route({ prefix: '/record', cluster: 'record' }),
          route({ prefix: '/big', cluster: 'big' }),
          route({ prefix: '/', cluster: 'echo' }),
        ],
      ),
    ]);
    proxy = await startProxy(routes, clusters);
  });

  after(async () => {
    await proxy.close();
    await echo.close();
    for (const s of servers) s.close();
  });

  it('reuses one keep-alive connection, queueing at the connection cap', async () => {
    const connections = new Set<number>();
    echo.server.on('connection', (s: Socket) => connections.add(s.remotePort ?? 0));
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => send(proxy.port, `/q${i}`)));
    expect(results.map((r) => echoed(r).url)).to.deep.equal(['/q1', '/q2', '/q3', '/q4', '/q5']);
    expect(connections.size).to.be.at.most(1);
  });

  it('silently re-sends a GET when the reused connection turns out closed', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await send(proxy.port, '/stale');
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('ok');
    }
    expect(stale.connections()).to.be.greaterThan(2);
  });

  it('passes chunked bodies and trailers through, without internal trailers', async () => {
    const raw = 'GET /chunked HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n';
    const out = await rawExchange(proxy.port, raw);
    const [res] = parseRawResponses(out);
    expect(res?.body).to.equal('abcdef');
    expect(out).to.include('x-checksum: 42');
    expect(out).not.to.include('x-trellis-secret');
  });

  it('reads a close-delimited body to the end', async () => {
    const res = await send(proxy.port, '/until-close');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('all of it');
  });

  it('answers 502 UPE to a malformed upstream response', async () => {
    const res = await send(proxy.port, '/broken');
    expect(res.status).to.equal(502);
    expect(res.headers['x-trellis-response-flags']).to.equal('UPE');
  });

  it('streams a request body of unknown length as chunked, and a known one with its Content-Length', async () => {
    const chunked = await rawExchange(
      proxy.port,
      'POST /record HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    expect(chunked).to.match(/^HTTP\/1\.1 204/);
    expect(lastHead.toLowerCase()).to.match(/transfer-encoding: chunked|content-length: 3/);
    await send(proxy.port, '/record', { method: 'PUT', body: 'twelve bytes' });
    expect(lastHead).to.include('content-length: 12');
    expect(lastHead).to.match(/^PUT \/record HTTP\/1\.1\r\n/);
  });

  it('streams a large response intact', async () => {
    const res = await send(proxy.port, '/big');
    expect(res.body.length).to.equal(4 * 1024 * 1024);
  });

  it('relays an early answer to an upload, and the client connection stays usable', async () => {
    const agent = new Agent({ connections: 1 });
    try {
      const big = Buffer.alloc(2 * 1024 * 1024, 'u');
      const refused = await request(`http://127.0.0.1:${proxy.port}/upload`, {
        method: 'POST',
        body: big,
        dispatcher: agent,
      });
      expect(refused.statusCode).to.equal(413);
      expect(await refused.body.text()).to.equal('too big!');
      const next = await request(`http://127.0.0.1:${proxy.port}/after-upload`, { dispatcher: agent });
      expect(next.statusCode).to.equal(200);
      await next.body.text();
    } finally {
      await agent.close();
    }
  });

  it('a client that goes away cancels the upstream request', async () => {
    const host = clusters.clusters.get('hung')?.hostList[0];
    const upstreamSocket = new Promise<Socket>((resolve) => hung.server.once('connection', resolve));
    const client = net.connect(proxy.port, '127.0.0.1');
    client.on('error', () => undefined);
    client.write('GET /hang HTTP/1.1\r\nHost: a\r\n\r\n');
    const upstream = await upstreamSocket;
    await once(upstream, 'data');
    expect(host?.stats.activeRequests).to.equal(1);
    client.destroy();
    await once(upstream, 'close');
    expect(host?.stats.activeRequests).to.equal(0);
  });
});
