// Connection limits of the HTTP connection manager: head deadline (slowloris), requests per connection, HTTP/2
// SETTINGS, idle sessions and the premature-reset (rapid reset) close.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import { HTTP_LIMIT_DEFAULTS } from '../config/decode-http-limits.ts';
import type { HttpLimits } from '../config/model.ts';
import {
  type ProxyUnderTest,
  rawExchange,
  route,
  routeConfig,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

function limits(over: Partial<HttpLimits>): { limits: HttpLimits } {
  return { limits: { ...HTTP_LIMIT_DEFAULTS, ...over } };
}

describe('http handler: connection limits', () => {
  const clusters = new TestClusters();
  let upstream: Awaited<ReturnType<typeof startHttpUpstream>>;
  const routes = routeConfig([vhost('all', ['*'], [route({ prefix: '/', cluster: 'up' })])]);
  const proxies: ProxyUnderTest[] = [];
  const proxy = async (over: Partial<HttpLimits>): Promise<ProxyUnderTest> => {
    const p = await startProxy(routes, clusters, limits(over));
    proxies.push(p);
    return p;
  };

  before(async () => {
    upstream = await startHttpUpstream((_req, res) => res.end('ok'));
    clusters.add('up', [upstream.port]);
  });

  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
  });

  after(async () => {
    await upstream.close();
  });

  it('answers 408 when a head trickles in past the head deadline (bytes do not extend it)', async () => {
    const p = await proxy({ requestHeadersTimeoutMs: 150 });
    const socket = net.connect(p.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    const closed = once(socket, 'close');
    const head = `GET / HTTP/1.1\r\nhost: up\r\nx-slow: ${'a'.repeat(400)}`;
    let i = 0;
    // One byte every 20 ms: without a whole-head deadline this would hold the connection for 8 s.
    const trickle = setInterval(() => {
      if (!socket.destroyed && i < head.length) socket.write(head[i++] as string);
    }, 20);
    const started = performance.now();
    await closed;
    clearInterval(trickle);
    expect(got).to.match(/^HTTP\/1\.1 408 /);
    expect(performance.now() - started).to.be.below(4000);
    expect(i).to.be.below(head.length);
  });

  it('closes a connection whose HTTP/2 preface trickles in past the head deadline', async () => {
    const p = await proxy({ requestHeadersTimeoutMs: 150 });
    const socket = net.connect(p.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    let i = 0;
    const trickle = setInterval(() => {
      if (!socket.destroyed && i < preface.length - 1) socket.write(preface[i++] as string);
    }, 20);
    const started = performance.now();
    await closed;
    clearInterval(trickle);
    expect(performance.now() - started).to.be.below(2000);
    expect(i).to.be.below(preface.length - 1);
  });

  it('closes a keep-alive connection after max_requests_per_connection (Connection: close on the last)', async () => {
    const p = await proxy({ maxRequestsPerConnection: 2 });
    const req = 'GET / HTTP/1.1\r\nhost: up\r\n\r\n';
    const out = await rawExchange(p.port, req + req + req);
    const heads = out.match(/HTTP\/1\.1 200/g) ?? [];
    expect(heads).to.have.length(2);
    expect(out.toLowerCase()).to.match(/connection: keep-alive[\s\S]*connection: close/);
  });

  it('advertises SETTINGS_MAX_CONCURRENT_STREAMS and the stream and connection windows', async () => {
    const p = await proxy({ maxConcurrentStreams: 7 });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    try {
      await once(session, 'remoteSettings');
      expect(session.remoteSettings.maxConcurrentStreams).to.equal(7);
      expect(session.remoteSettings.initialWindowSize).to.equal(HTTP_LIMIT_DEFAULTS.initialStreamWindowSize);
      // The connection window's WINDOW_UPDATE follows the SETTINGS: a PING round trip later it has arrived.
      await new Promise((resolve) => session.ping(resolve));
      expect(session.state.remoteWindowSize).to.equal(HTTP_LIMIT_DEFAULTS.initialConnectionWindowSize);
    } finally {
      session.destroy();
    }
  });

  it('closes an idle HTTP/2 session with GOAWAY after the idle timeout, not one with a stream open', async () => {
    const p = await proxy({ idleTimeoutMs: 100 });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on('error', () => undefined);
    const req = session.request({ ':path': '/', ':method': 'POST' });
    req.on('error', () => undefined);
    req.resume();
    req.write('x');
    const goaway = once(session, 'goaway');
    // The open stream keeps the session past several idle periods.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(session.closed || session.destroyed).to.equal(false);
    req.end();
    await new Promise((resolve) => req.once('close', resolve));
    await goaway;
    expect(p.stats.counter('http.test.downstream_cx_idle_timeout')).to.equal(1);
    session.destroy();
  });

  it('sends GOAWAY after max_requests_per_connection streams and lets them finish', async () => {
    const p = await proxy({ maxRequestsPerConnection: 2 });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on('error', () => undefined);
    const goaway = once(session, 'goaway');
    const statuses = await Promise.all(
      [1, 2].map(
        (n) =>
          new Promise<number>((resolve, reject) => {
            const r = session.request({ ':path': `/${n}` });
            r.on('response', (h) => resolve(Number(h[':status'])));
            r.on('error', reject);
            r.resume();
            r.end();
          }),
      ),
    );
    expect(statuses).to.deep.equal([200, 200]);
    await goaway;
    expect(p.stats.counter('http.test.downstream_cx_max_requests_reached')).to.equal(1);
    session.destroy();
  });

  it('closes a session whose client resets most streams right after opening them (rapid reset)', async () => {
    const p = await proxy({});
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on('error', () => undefined);
    await once(session, 'remoteSettings');
    const closed = new Promise((resolve) => session.once('close', resolve));
    let opened = 0;
    // Batches within the 100-stream limit, each stream cancelled at once, until the proxy closes the session.
    const batch = (): void => {
      if (session.closed || session.destroyed) return;
      for (let i = 0; i < 50; i++) {
        try {
          const r = session.request({ ':path': '/', ':method': 'POST' });
          r.on('error', () => undefined);
          r.close(http2.constants.NGHTTP2_CANCEL);
          opened++;
        } catch {
          return;
        }
      }
      if (opened < 5000) setImmediate(batch);
    };
    batch();
    await closed;
    expect(opened).to.be.below(5000);
    expect(p.stats.counter('http.test.downstream_rq_too_many_premature_resets')).to.equal(1);
    // Everyone else is still served.
    const again = http2.connect(`http://127.0.0.1:${p.port}`);
    const status = await new Promise<number>((resolve, reject) => {
      const r = again.request({ ':path': '/' });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.resume();
      r.end();
    });
    again.destroy();
    expect(status).to.equal(200);
  });
});
