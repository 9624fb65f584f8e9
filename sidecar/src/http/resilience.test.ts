// Retries, timeouts, circuit breaking and upstream failures through a live handler.
import type { ServerResponse } from 'node:http';
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

describe('http handler: retries, timeouts, circuit breaker', () => {
  let good: Upstream;
  let bad: Upstream;
  let slow: Upstream;
  let resetter: Upstream;
  let badHits = 0;
  const held: ServerResponse[] = [];
  let onHeld: (() => void) | undefined;
  let closedPort = 0;
  let proxy: ProxyUnderTest;
  let clusters: TestClusters;

  before(async () => {
    good = await startHttpUpstream(echoHandler('good'));
    bad = await startHttpUpstream((req, res) => {
      badHits++;
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('bad');
    });
    slow = await startHttpUpstream((_req, res) => {
      held.push(res);
      onHeld?.();
    });
    resetter = await startHttpUpstream((req) => req.socket.destroy());
    // Port 1 on loopback: nothing listens there. A port freed by closing a test server can be taken by any later
    // listener of the run (a CI run once gave it to another process: no connect failure, a flaky test).
    closedPort = 1;

    clusters = new TestClusters();
    clusters.add('flaky', [bad.port, good.port]);
    clusters.add('refused', [closedPort, good.port]);
    clusters.add('bad', [bad.port]);
    clusters.add('slow', [slow.port]);
    clusters.add('slow-then-good', [slow.port, good.port]);
    clusters.add('reset', [resetter.port]);
    clusters.add('tiny', [slow.port], {
      circuitBreakers: { maxConnections: 10, maxPendingRequests: 10, maxRequests: 1, maxRetries: 3 },
    });
    clusters.add('queue-of-zero', [slow.port], {
      circuitBreakers: { maxConnections: 1, maxPendingRequests: 0, maxRequests: 100, maxRetries: 3 },
    });
    clusters.add('unhealthy', [good.port]).hostList.forEach((h) => {
      h.healthy = false;
    });
    const retry5xx = { retryOn: ['5xx'], numRetries: 2 };
    const routes = routeConfig([
      vhost(
        'v',
        ['*'],
        [
          route({ prefix: '/flaky', cluster: 'flaky', retry: retry5xx }),
          route({ prefix: '/refused', cluster: 'refused', retry: { retryOn: ['connect-failure'], numRetries: 1 } }),
          route({ prefix: '/bad', cluster: 'bad', retry: retry5xx }),
          route({ prefix: '/timeout', cluster: 'slow', timeoutMs: 100 }),
          route({
            prefix: '/per-try',
            cluster: 'slow-then-good',
            retry: { retryOn: ['5xx'], numRetries: 1, perTryTimeoutMs: 100 },
          }),
          route({ prefix: '/reset', cluster: 'reset' }),
          route({ prefix: '/tiny', cluster: 'tiny' }),
          route({ prefix: '/unhealthy', cluster: 'unhealthy' }),
          route({ prefix: '/queue', cluster: 'queue-of-zero' }),
        ],
      ),
    ]);
    proxy = await startProxy(routes, clusters);
  });

  after(async () => {
    for (const res of held) res.end();
    await proxy.close();
    for (const u of [good, bad, slow, resetter]) await u.close();
  });

  it('retries a 503 on another host', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await send(proxy.port, `/flaky/${i}`);
      expect(res.status).to.equal(200);
      expect(echoed(res).backend).to.equal('good');
    }
    expect(badHits).to.be.within(1, 4);
    expect(proxy.stats.counter('cluster.flaky.upstream_rq_retry')).to.equal(badHits);
    expect(proxy.stats.counter('cluster.flaky.upstream_rq_5xx')).to.equal(badHits);
  });

  it('retries a connect failure on another host', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(proxy.port, '/refused');
      expect(res.status).to.equal(200);
    }
    expect(proxy.stats.counter('cluster.refused.upstream_cx_connect_fail')).to.be.greaterThan(0);
  });

  it('gives up after numRetries and relays the last upstream answer', async () => {
    const before = badHits;
    const res = await send(proxy.port, '/bad');
    expect(res.status).to.equal(503);
    expect(res.body).to.equal('bad');
    expect(res.headers['x-trellis-response-flags']).to.equal(undefined);
    expect(badHits - before).to.equal(3);
  });

  it('retries a buffered PUT body on 5xx, never a body too large to buffer (> 1 MiB)', async () => {
    let before = badHits;
    const small = await send(proxy.port, '/bad', { method: 'PUT', body: Buffer.alloc(1024, 120) });
    expect(small.status).to.equal(503);
    expect(badHits - before).to.equal(3);
    before = badHits;
    const res = await send(proxy.port, '/bad', { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1, 120) });
    expect(res.status).to.equal(503);
    expect(badHits - before).to.equal(1);
  });

  it('never retries a POST the upstream answered with a 5xx', async () => {
    const before = badHits;
    const res = await send(proxy.port, '/bad', { method: 'POST', body: 'x' });
    expect(res.status).to.equal(503);
    expect(badHits - before).to.equal(1);
  });

  it('retries a POST (with its body) on a connect failure', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(proxy.port, '/refused', { method: 'POST', body: 'payload' });
      expect(res.status).to.equal(200);
      expect(echoed(res).body).to.equal('payload');
    }
  });

  it('route timeout: 504 UT', async () => {
    const res = await send(proxy.port, '/timeout');
    expect(res.status).to.equal(504);
    expect(res.headers['x-trellis-response-flags']).to.equal('UT');
    expect(proxy.stats.counter('cluster.slow.upstream_rq_timeout')).to.equal(1);
  });

  it('per-try timeout retries on the next host', async () => {
    const res = await send(proxy.port, '/per-try');
    expect(res.status).to.equal(200);
    expect(echoed(res).backend).to.equal('good');
    expect(proxy.stats.counter('cluster.slow-then-good.upstream_rq_per_try_timeout')).to.be.at.most(1);
  });

  it('upstream reset before the response: 503 UR', async () => {
    const res = await send(proxy.port, '/reset');
    expect(res.status).to.equal(503);
    expect(res.headers['x-trellis-response-flags']).to.equal('UR');
  });

  it('no healthy host: 503 UH', async () => {
    const res = await send(proxy.port, '/unhealthy');
    expect(res.status).to.equal(503);
    expect(res.headers['x-trellis-response-flags']).to.equal('UH');
  });

  it('circuit breaker open: 503 with x-trellis-overloaded, and the slot comes back', async () => {
    const arrived = new Promise<void>((resolve) => {
      onHeld = resolve;
    });
    const first = send(proxy.port, '/tiny');
    await arrived;
    onHeld = undefined;
    const second = await send(proxy.port, '/tiny');
    expect(second.status).to.equal(503);
    expect(second.headers['x-trellis-overloaded']).to.equal('true');
    expect(second.headers['x-trellis-response-flags']).to.equal('UO');
    held.pop()?.end('finally');
    expect((await first).status).to.equal(200);
    expect(clusters.clusters.get('tiny')?.activeRequests).to.equal(0);
  });

  it('pending-request overflow: 503 UO when no connection is free and the queue is full', async () => {
    const arrived = new Promise<void>((resolve) => {
      onHeld = resolve;
    });
    const first = send(proxy.port, '/queue');
    await arrived;
    onHeld = undefined;
    const second = await send(proxy.port, '/queue');
    expect(second.status).to.equal(503);
    expect(second.headers['x-trellis-response-flags']).to.equal('UO');
    held.pop()?.end('first');
    expect((await first).status).to.equal(200);
  });

  it('host counters return to idle', () => {
    for (const cluster of clusters.clusters.values()) {
      for (const host of cluster.hostList) {
        if (host.port === slow.port) continue;
        expect(host.stats.activeRequests, `${cluster.name} ${host.key}`).to.equal(0);
      }
    }
    const goodHost = clusters.clusters.get('flaky')?.hostList.find((h) => h.port === good.port);
    expect(goodHost?.stats.totalRequests).to.be.greaterThan(0);
  });
});
