// The release invariant: however a downstream stream ends (completion, client reset or disconnect, timeouts, local
// replies, upstream failures, a whole HTTP/2 session going away), everything it held is given back: the request
// gauge, the cluster's breaker slot, the host's attempt count, the app's open request, buffered bytes, idle watches
// and timers.
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import { idleSweeper } from './codec/idle-sweeper.ts';
import { requestBufferBudget } from './message/replayable-body.ts';
import {
  type ProxyUnderTest,
  route,
  routeConfig,
  startHttpUpstream,
  startProxy,
  TestClusters,
  until,
  vhost,
} from './test-harness.ts';

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('http handler: every way a stream ends releases what it held', () => {
  const clusters = new TestClusters();
  let upstream: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;
  /** Requests the app has open (it sees a request close when the proxy lets go of it). */
  let appOpen = 0;
  let appSeen = 0;

  before(async () => {
    upstream = await startHttpUpstream((req, res) => {
      appOpen++;
      appSeen++;
      req.on('close', () => appOpen--);
      req.resume();
      const url = req.url ?? '';
      if (url.includes('hang')) return;
      if (url.includes('drop')) {
        req.socket.destroy();
        return;
      }
      if (url.includes('stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const tick = setInterval(() => res.write('x'.repeat(1024)), 5);
        res.on('close', () => clearInterval(tick));
        return;
      }
      req.on('end', () => res.end('ok'));
    });
    clusters.add('up', [upstream.port]);
    const retry = { retryOn: ['5xx', 'reset', 'connect-failure'], numRetries: 2, perTryTimeoutMs: 60 };
    const routes = routeConfig([
      vhost(
        'v',
        ['*'],
        [
          route({ name: 'direct', prefix: '/direct', direct: { status: 200, body: 'direct' } }),
          route({ name: 'nocluster', prefix: '/nocluster', cluster: 'missing' }),
          route({ name: 'timeout', prefix: '/timeout', cluster: 'up', timeoutMs: 80 }),
          route({ name: 'retry', prefix: '/retry', cluster: 'up', retry }),
          // A retry policy whose first try outlives any test: its streams stay open however slow the machine.
          route({
            name: 'retry-long',
            prefix: '/long-retry',
            cluster: 'up',
            retry: { ...retry, perTryTimeoutMs: 60_000 },
          }),
          route({ name: 'idle', prefix: '/idle', cluster: 'up', idleTimeoutMs: 80 }),
          route({ name: 'up', prefix: '/up', cluster: 'up' }),
        ],
      ),
    ]);
    proxy = await startProxy(routes, clusters);
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  let baseTimers = 0;
  beforeEach(() => {
    baseTimers = timers();
  });

  /** Every gauge back to zero (and no timer left behind) once the stream is over. */
  async function released(): Promise<void> {
    const cluster = clusters.clusters.get('up');
    const host = cluster?.hostList[0];
    const state = () => ({
      downstream: proxy.stats.gaugeValue('http.test.downstream_rq_active'),
      breaker: cluster?.activeRequests,
      attempts: host?.stats.activeRequests,
      app: appOpen,
      buffered: requestBufferBudget.used,
      idle: idleSweeper.size(),
    });
    const zero = { downstream: 0, breaker: 0, attempts: 0, app: 0, buffered: 0, idle: 0 };
    const deadline = performance.now() + 5000;
    while (JSON.stringify(state()) !== JSON.stringify(zero) && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 2));
    expect(state()).to.deep.equal(zero);
    // Per-request timers are cleared (the sweepers' own unref'd intervals may come and go: allow one).
    await until(() => timers() <= baseTimers + 1 || performance.now() > deadline);
    expect(timers()).to.be.at.most(baseTimers + 1);
  }

  /** One HTTP/1.1 request on its own connection; resolves with the status (0 when the connection died). */
  function h1(path: string, init: { method?: string; body?: string; length?: number } = {}): Promise<number> {
    return new Promise((resolve) => {
      const headers: http.OutgoingHttpHeaders = {};
      if (init.length !== undefined) headers['content-length'] = init.length;
      const req = http.request(
        { host: '127.0.0.1', port: proxy.port, path, method: init.method ?? 'GET', agent: false, headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.on('error', () => resolve(0));
      if (init.length === undefined) req.end(init.body);
      else req.write(init.body ?? '');
    });
  }

  /** Opens an HTTP/1.1 request on a raw socket, waits for `ready()`, then destroys the socket. */
  async function h1Abandon(raw: string, ready: () => boolean): Promise<void> {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(raw);
    socket.resume();
    await until(ready);
    socket.destroy();
  }

  function h2(session: http2.ClientHttp2Session, path: string, method = 'GET'): Promise<number> {
    return new Promise((resolve) => {
      const req = session.request({ ':path': path, ':method': method });
      req.on('response', (h) => {
        req.resume();
        req.on('end', () => resolve(Number(h[':status'])));
      });
      req.on('error', () => resolve(0));
      req.on('close', () => resolve(0));
      req.end();
    });
  }

  describe('HTTP/1.1', () => {
    it('completes', async () => {
      expect(await h1('/up/ok')).to.equal(200);
      expect(await h1('/up/ok', { method: 'POST', body: 'hello' })).to.equal(200);
      await released();
    });

    it('local replies: direct response, no route, no cluster', async () => {
      expect(await h1('/direct')).to.equal(200);
      expect(await h1('/nowhere')).to.equal(404);
      expect(await h1('/nocluster')).to.equal(503);
      await released();
    });

    it('route timeout, per-try timeouts with retries, stream idle timeout', async () => {
      expect(await h1('/timeout/hang')).to.equal(504);
      expect(await h1('/retry/hang')).to.equal(504);
      expect(await h1('/idle/hang')).to.equal(504);
      await released();
    });

    it('upstream resets, retried and not', async () => {
      expect(await h1('/up/drop')).to.equal(503);
      expect(await h1('/retry/drop')).to.equal(503);
      await released();
    });

    it('client disconnects while the app holds the request', async () => {
      const seen = appSeen;
      await h1Abandon('GET /up/hang HTTP/1.1\r\nhost: a\r\n\r\n', () => appSeen > seen);
      await released();
    });

    it('client disconnects while its small body is read (nothing went upstream)', async () => {
      await h1Abandon('POST /up/hang HTTP/1.1\r\nhost: a\r\ncontent-length: 1000\r\n\r\n0123456789', () => {
        return proxy.stats.gaugeValue('http.test.downstream_rq_active') === 1 && requestBufferBudget.used === 10;
      });
      await released();
    });

    it('client disconnects in the middle of a large streamed body', async () => {
      const seen = appSeen;
      const head = 'POST /up/hang HTTP/1.1\r\nhost: a\r\ncontent-length: 3000000\r\n\r\n';
      // Past the 1 MiB read before routing: the request is upstream and the rest of its body streams.
      await h1Abandon(head + 'x'.repeat(1024 * 1024 + 100_000), () => appSeen > seen);
      await released();
    });

    it('client disconnects during a retry backoff', async () => {
      const seen = appSeen;
      await h1Abandon('GET /retry/drop HTTP/1.1\r\nhost: a\r\n\r\n', () => appSeen > seen);
      await released();
    });

    it('client disconnects while the response streams', async () => {
      let got = 0;
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => {
        got += d.length;
      });
      socket.write('GET /up/stream HTTP/1.1\r\nhost: a\r\n\r\n');
      await until(() => got > 10_000);
      socket.destroy();
      await released();
    });
  });

  describe('HTTP/2', () => {
    it('completes, local replies, timeouts and upstream resets', async () => {
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
      session.on('error', () => undefined);
      const statuses = await Promise.all(
        ['/up/ok', '/direct', '/nowhere', '/timeout/hang', '/retry/hang', '/idle/hang', '/up/drop'].map((p) =>
          h2(session, p),
        ),
      );
      expect(statuses).to.deep.equal([200, 200, 404, 504, 504, 504, 503]);
      session.destroy();
      await released();
    });

    it('client resets streams the app holds, mid-body and mid-response', async () => {
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
      session.on('error', () => undefined);
      const seen = appSeen;
      const held = session.request({ ':path': '/up/hang' });
      held.on('error', () => undefined);
      held.end();
      const upload = session.request({ ':path': '/up/hang', ':method': 'POST' });
      upload.on('error', () => undefined);
      upload.write('x'.repeat(10));
      const streaming = session.request({ ':path': '/up/stream' });
      streaming.on('error', () => undefined);
      let got = 0;
      streaming.on('data', (d: Buffer) => {
        got += d.length;
      });
      streaming.end();
      await until(() => appSeen >= seen + 2 && got > 10_000 && requestBufferBudget.used === 10);
      for (const s of [held, upload, streaming]) s.close(http2.constants.NGHTTP2_CANCEL);
      await released();
      session.destroy();
    });

    it('a client that half-closes its connection (FIN, no GOAWAY) with streams open is let go of', async () => {
      const socket = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`, { createConnection: () => socket });
      session.on('error', () => undefined);
      await once(session, 'remoteSettings');
      const seen = appSeen;
      for (let i = 0; i < 20; i++) {
        const r = session.request({ ':path': i % 2 === 0 ? '/up/hang' : '/up/ok', ':method': 'POST' });
        r.on('error', () => undefined);
        r.write('part of a body');
      }
      await until(() => proxy.stats.gaugeValue('http.test.downstream_rq_active') === 20 && appSeen >= seen);
      const closed = new Promise((resolve) => session.once('close', resolve));
      // Half-close the TCP connection under the session: the client can send nothing more.
      socket.end();
      await closed;
      await released();
    });

    it('a session destroyed with 150 streams open (past the 100-stream limit) leaves nothing behind', async () => {
      const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
      session.on('error', () => undefined);
      await once(session, 'remoteSettings');
      const seen = appSeen;
      for (let i = 0; i < 150; i++) {
        const r = session.request({ ':path': i % 2 === 0 ? '/up/hang' : '/long-retry/hang', ':method': 'POST' });
        r.on('error', () => undefined);
        r.end('body');
      }
      await until(() => appSeen >= seen + 100);
      expect(proxy.stats.gaugeValue('http.test.downstream_rq_active')).to.equal(100);
      session.destroy();
      await released();
    });
  });
});
