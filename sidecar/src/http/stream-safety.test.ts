// Hostile replies and resets never crash the handler: invalid or duplicated upstream heads, resets mid-request.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import { STREAMS_PER_TURN } from './codec/h2-session-guard.ts';
import {
  listen,
  type ProxyUnderTest,
  route,
  routeConfig,
  startHttpUpstream,
  startProxy,
  TestClusters,
  until,
  vhost,
} from './test-harness.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload. */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HEADERS (END_HEADERS, no END_STREAM) for a POST: static-table pseudo-headers, :path and :authority literal. */
function postHeaders(stream: number, path: string): Buffer {
  return requestHeaders(stream, path, 0x83, false);
}

/** HEADERS (END_HEADERS; END_STREAM with endStream) with :method from the static table (0x82 GET, 0x83 POST). */
function requestHeaders(stream: number, path: string, method: number, endStream: boolean): Buffer {
  const literal = (index: number, value: string) =>
    Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value, 'latin1')]);
  const block = Buffer.concat([Buffer.from([method, 0x86]), literal(0x04, path), literal(0x01, 'svc')]);
  return frame(1, endStream ? 0x5 : 0x4, stream, block);
}

function rstStream(stream: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(3, 0, stream, payload);
}

/** A raw HTTP/1.1 upstream that answers every request with the given head and body. */
async function rawUpstream(head: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', () => socket.write(head));
  });
  const port = await listen(server);
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function h2Get(
  port: number,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':path': path, ':method': 'GET', ':authority': 'svc' });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      headers = h;
    });
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body });
    });
    req.on('error', (err) => {
      session.destroy();
      reject(err);
    });
    req.end();
  });
}

describe('http handler: stream safety', () => {
  const upstreams: { close(): Promise<void> }[] = [];
  let proxy: ProxyUnderTest;
  const clusters = new TestClusters();

  before(async () => {
    const heads: Record<string, string> = {
      'two-dates':
        'HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 12:00:00 GMT\r\nDate: Mon, 07 Dec 2026 12:00:01 GMT\r\nContent-Length: 2\r\n\r\nok',
      'two-locations': 'HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n',
      'same-locations': 'HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n',
      'pseudo-header': 'HTTP/1.1 200 OK\r\n:status: 204\r\nContent-Length: 0\r\n\r\n',
      'two-types':
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok',
    };
    const routes = [];
    for (const [name, head] of Object.entries(heads)) {
      const up = await rawUpstream(head);
      upstreams.push(up);
      clusters.add(name, [up.port]);
      routes.push(route({ name, prefix: `/${name}`, cluster: name }));
    }
    const slow = await startHttpUpstream(() => undefined);
    upstreams.push(slow);
    clusters.add('slow', [slow.port]);
    routes.push(route({ name: 'slow-retried', prefix: '/slow-retried', cluster: 'slow', retry: { numRetries: 2 } }));
    routes.push(route({ name: 'slow', prefix: '/slow', cluster: 'slow' }));
    proxy = await startProxy(routeConfig([vhost('v', ['svc'], routes)]), clusters);
  });

  after(async () => {
    await proxy.close();
    for (const u of upstreams) await u.close();
  });

  it('forwards the first of two Date headers to an HTTP/2 client', async () => {
    const res = await h2Get(proxy.port, '/two-dates');
    expect(res.status).to.equal(200);
    expect(res.headers['date']).to.equal('Mon, 07 Dec 2026 12:00:00 GMT');
    expect(res.body).to.equal('ok');
  });

  it('collapses identical repeats of a single-value header', async () => {
    const res = await h2Get(proxy.port, '/same-locations');
    expect(res.status).to.equal(302);
    expect(res.headers['location']).to.equal('/a');
  });

  for (const name of ['two-locations', 'two-types', 'pseudo-header']) {
    it(`answers 502 to an HTTP/2 client when the upstream head has ${name}, and keeps serving`, async () => {
      const res = await h2Get(proxy.port, `/${name}`);
      expect(res.status).to.equal(502);
      expect(res.headers['x-trellis-response-flags']).to.equal('UPE');
      const again = await h2Get(proxy.port, '/two-dates');
      expect(again.status).to.equal(200);
    });
  }

  it("streams a client opens and resets in the same read cost nothing upstream (at most a turn's share start)", async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => undefined);
    const attempts = (): number => proxy.stats.counter('cluster.two-dates.upstream_rq_total');
    const before = attempts();
    const frames: Buffer[] = [PREFACE, frame(4, 0, 0, Buffer.alloc(0))];
    for (let i = 0; i < 50; i++) {
      const id = 1 + 2 * i;
      frames.push(requestHeaders(id, '/two-dates', 0x82, true), rstStream(id, 8));
    }
    socket.write(Buffer.concat(frames));
    await until(() => proxy.stats.counter('http.test.downstream_rq_total') >= 50);
    await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
    expect(attempts() - before).to.be.at.most(STREAMS_PER_TURN);
    // Kept up, it is rapid reset: the premature-reset guard counts these streams too and closes the connection.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const more: Buffer[] = [];
    for (let i = 50; i < 400; i++) {
      const id = 1 + 2 * i;
      more.push(requestHeaders(id, '/two-dates', 0x82, true), rstStream(id, 8));
    }
    socket.write(Buffer.concat(more));
    socket.resume();
    await closed;
    expect(proxy.stats.counter('http.test.downstream_rq_too_many_premature_resets')).to.equal(1);
    expect((await h2Get(proxy.port, '/two-dates')).status).to.equal(200);
  });

  for (const path of ['/slow-retried', '/slow', '/unrouted']) {
    it(`survives HEADERS (POST, no END_STREAM) then RST_STREAM(CANCEL) in one packet (${path})`, async () => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => undefined);
      socket.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), postHeaders(1, path), rstStream(1, 8)]));
      await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 0);
      socket.destroy();
      const res = await h2Get(proxy.port, '/two-dates');
      expect(res.status).to.equal(200);
    });
  }
});
