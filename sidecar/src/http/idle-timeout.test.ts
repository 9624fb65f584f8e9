// Stream idle timeouts (route idle_timeout, else the connection manager's stream_idle_timeout) against real slow upstreams.
import http, { type ServerResponse } from 'node:http';
import { expect } from 'chai';
import {
  echoed,
  echoHandler,
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

type Upstream = Awaited<ReturnType<typeof startHttpUpstream>>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A GET whose response head arrives and whose body then stalls: resolves with the status and how the body ended. */
function headThenBody(port: number, path: string): Promise<{ status: number; body: string; ended: 'end' | 'error' }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ended: 'end' }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, ended: 'error' }));
    });
    req.on('error', reject);
  });
}

describe('http handler: stream idle timeouts', () => {
  const held: ServerResponse[] = [];
  let silent: Upstream;
  let stalled: Upstream;
  let trickle: Upstream;
  let echo: Upstream;
  let late: Upstream;
  let proxy: ProxyUnderTest;
  let hcmProxy: ProxyUnderTest;

  before(async () => {
    silent = await startHttpUpstream((req, res) => {
      req.resume();
      held.push(res);
    });
    stalled = await startHttpUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      held.push(res);
    });
    trickle = await startHttpUpstream(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 6; i++) {
        res.write(`${i}`);
        await sleep(60);
      }
      res.end();
    });
    echo = await startHttpUpstream(echoHandler('echo'));
    late = await startHttpUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 350);
    });
    const clusters = new TestClusters();
    clusters.add('late', [late.port]);
    clusters.add('silent', [silent.port]);
    clusters.add('stalled', [stalled.port]);
    clusters.add('trickle', [trickle.port]);
    clusters.add('echo', [echo.port]);
    const idle = 200;
    proxy = await startProxy(
      routeConfig([
        vhost(
          'v',
          ['*'],
          [
            route({ prefix: '/silent', cluster: 'silent', idleTimeoutMs: idle }),
            route({ prefix: '/stalled', cluster: 'stalled', idleTimeoutMs: idle }),
            route({ prefix: '/trickle', cluster: 'trickle', idleTimeoutMs: idle }),
            route({ prefix: '/upload', cluster: 'echo', idleTimeoutMs: idle }),
            route({ prefix: '/none', cluster: 'trickle' }),
          ],
        ),
      ]),
      clusters,
    );
    hcmProxy = await startProxy(
      routeConfig([
        vhost(
          'v',
          ['*'],
          [route({ prefix: '/zero', cluster: 'late', idleTimeoutMs: 0 }), route({ cluster: 'silent' })],
        ),
      ]),
      clusters,
      { streamIdleTimeoutMs: idle },
    );
  });

  after(async () => {
    for (const res of held) res.destroy();
    await proxy.close();
    await hcmProxy.close();
    for (const u of [silent, stalled, trickle, echo, late]) await u.close();
  });

  it('no response headers within the route idle timeout: 504 SI, counted', async () => {
    const started = Date.now();
    const res = await send(proxy.port, '/silent');
    expect(res.status).to.equal(504);
    expect(res.headers['x-trellis-response-flags']).to.equal('SI');
    expect(Date.now() - started).to.be.within(150, 2000);
    expect(proxy.stats.counter('http.test.downstream_rq_idle_timeout')).to.equal(1);
  });

  it('headers then a stalled body: the downstream stream is reset', async () => {
    const res = await headThenBody(proxy.port, '/stalled');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('partial');
    expect(res.ended).to.equal('error');
    expect(proxy.stats.counter('http.test.downstream_rq_idle_timeout')).to.equal(2);
  });

  it('a slow body whose chunks come within the timeout is not cut (the timer is refreshed)', async () => {
    const res = await send(proxy.port, '/trickle');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('012345');
  });

  it('a request body trickling in within the timeout keeps the exchange alive', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ port: proxy.port, path: '/upload', method: 'PUT', agent: false }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          body += d;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      void (async () => {
        for (let i = 0; i < 6; i++) {
          req.write(`${i}`);
          await sleep(60);
        }
        req.end();
      })();
    });
    expect(res.status).to.equal(200);
    expect(echoed({ status: res.status, headers: {}, body: res.body }).body).to.equal('012345');
  });

  it('falls back to the connection manager stream_idle_timeout; none when both are 0', async () => {
    const res = await send(hcmProxy.port, '/anything');
    expect(res.status).to.equal(504);
    expect(res.headers['x-trellis-response-flags']).to.equal('SI');
    expect(hcmProxy.stats.counter('http.test.downstream_rq_idle_timeout')).to.equal(1);
    const slow = await send(proxy.port, '/none');
    expect(slow.status).to.equal(200);
    expect(proxy.stats.counter('http.test.downstream_rq_idle_timeout')).to.equal(2);
  });

  it('a route idle_timeout of 0 turns the connection manager stream_idle_timeout off for that route (Envoy)', async () => {
    const res = await send(hcmProxy.port, '/zero');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('late');
  });
});
