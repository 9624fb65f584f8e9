// HTTP health checks against real HTTP/1.1 and h2c servers on loopback: hosts leave and return after the thresholds.

import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { HttpHealthProbe } from '../../config/model.ts';
import { fastCheck, loopbackHost, Watched } from './test-helpers.ts';

type Mode = 'ok' | 'fail' | 'retriable' | 'hang' | 'wrong-body';

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A server whose answer the test flips: 200 "healthy", 503, 429, no answer, or 200 with another body. */
async function flippingServer(): Promise<{ port: number; mode: { value: Mode }; seen: SeenRequest[]; close(): void }> {
  const mode = { value: 'ok' as Mode };
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    switch (mode.value) {
      case 'ok':
        res.end('status: healthy');
        return;
      case 'wrong-body':
        res.end('status: degraded');
        return;
      case 'fail':
        res.writeHead(503).end();
        return;
      case 'retriable':
        res.writeHead(429).end();
        return;
      case 'hang':
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mode,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function httpProbe(overrides: Partial<HttpHealthProbe> = {}): HttpHealthProbe {
  return {
    kind: 'http',
    path: '/healthz',
    method: 'GET',
    codec: 'http1',
    expectedStatuses: [{ start: 200, end: 201 }],
    retriableStatuses: [],
    receive: [],
    responseBufferSize: 1024,
    requestHeaders: [],
    requestHeadersToRemove: [],
    ...overrides,
  };
}

describe('HTTP health checks', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });

  it('sends method, path, Host and headers; an unexpected status takes the host out at once', async () => {
    const server = await flippingServer();
    cleanup.push(server.close);
    const probe = httpProbe({
      method: 'HEAD',
      host: 'orders.internal',
      requestHeaders: [{ name: 'x-hc', value: 'yes' }],
    });
    const w = new Watched(fastCheck(probe, { unhealthyThreshold: 3 }), loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.checksDone(1);
    expect(server.seen[0]).to.deep.include({ method: 'HEAD', url: '/healthz' });
    expect(server.seen[0]?.headers).to.include({ host: 'orders.internal', 'x-hc': 'yes', 'user-agent': 'Trellis/HC' });
    expect(w.checker.isHealthy(w.host)).to.equal(true);
    const before = w.checks.length;
    server.mode.value = 'fail';
    const changedAt = await w.becomes(false);
    // Envoy: a status outside expected and retriable fails the host regardless of unhealthy_threshold.
    const failing = w.checks.slice(before, changedAt + 1).filter((c) => !c.result.ok);
    expect(failing).to.have.length(1);
    expect(failing[0]?.result).to.deep.equal({ ok: false, kind: 'active', detail: 'status 503' });
    expect(w.checker.isHealthy(w.host)).to.equal(false);
  });

  it('returns the host after healthy_threshold passing checks in a row', async () => {
    const server = await flippingServer();
    cleanup.push(server.close);
    server.mode.value = 'fail';
    const w = new Watched(fastCheck(httpProbe(), { healthyThreshold: 3 }), loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.becomes(false);
    const flippedAt = w.checks.length;
    server.mode.value = 'ok';
    const returnedAt = await w.becomes(true);
    const passes = w.checks.slice(flippedAt, returnedAt + 1);
    expect(passes.filter((c) => c.result.ok).length).to.equal(3);
    expect(passes.slice(-3).every((c) => c.result.ok)).to.equal(true);
    const s = w.stats;
    expect(s.counter('cluster.svc|80.health_check.unhealthy_edge')).to.equal(1);
    expect(s.counter('cluster.svc|80.health_check.healthy_edge')).to.equal(1);
    expect(s.counter('cluster.svc|80.health_check.failure')).to.be.at.least(1);
    expect(s.counter('cluster.svc|80.health_check.success')).to.be.at.least(3);
  });

  it('timeouts and retriable statuses count towards unhealthy_threshold', async () => {
    const server = await flippingServer();
    cleanup.push(server.close);
    const config = fastCheck(httpProbe({ retriableStatuses: [{ start: 429, end: 430 }] }), {
      unhealthyThreshold: 3,
      timeoutMs: 40,
    });
    const w = new Watched(config, loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.checksDone(1);
    server.mode.value = 'hang';
    let before = w.checks.length;
    let at = await w.becomes(false);
    let window = w.checks.slice(before, at + 1);
    expect(window.filter((c) => !c.result.ok).map((c) => c.result)).to.deep.equal(
      Array(3).fill({ ok: false, kind: 'network', detail: 'timeout' }),
    );
    expect(w.stats.counter('cluster.svc|80.health_check.network_failure')).to.be.at.least(3);
    server.mode.value = 'ok';
    await w.becomes(true);
    server.mode.value = 'retriable';
    before = w.checks.length;
    at = await w.becomes(false);
    window = w.checks.slice(before, at + 1);
    expect(window.filter((c) => !c.result.ok)).to.have.length(3);
    expect(window.at(-1)?.result).to.deep.equal({ ok: false, kind: 'retriable', detail: 'status 429' });
  });

  it('checks the body for the receive blocks', async () => {
    const server = await flippingServer();
    cleanup.push(server.close);
    const probe = httpProbe({ receive: [Buffer.from('status'), Buffer.from('healthy')] });
    const w = new Watched(fastCheck(probe), loopbackHost(server.port));
    cleanup.push(() => w.close());
    await w.checksDone(1);
    expect(w.checks[0]?.result.ok).to.equal(true);
    server.mode.value = 'wrong-body';
    await w.becomes(false);
    expect(w.checks.at(-1)?.result).to.deep.equal({
      ok: false,
      kind: 'active',
      detail: 'response body does not match',
    });
  });

  it('a host that refuses connections leaves after unhealthy_threshold network failures', async () => {
    const server = await flippingServer();
    const port = server.port;
    server.close();
    const w = new Watched(fastCheck(httpProbe(), { unhealthyThreshold: 2 }), loopbackHost(port));
    cleanup.push(() => w.close());
    const at = await w.becomes(false);
    expect(at).to.equal(1);
    expect(w.checks[0]?.result).to.include({ ok: false, kind: 'network' });
  });

  it('speaks h2c with codec_client_type HTTP2', async () => {
    let status = 200;
    const authorities: string[] = [];
    const server = http2.createServer((req, res) => {
      authorities.push(String(req.headers[':authority']));
      res.writeHead(status).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const w = new Watched(fastCheck(httpProbe({ codec: 'http2' })), loopbackHost(port));
    cleanup.push(() => w.close());
    await w.checksDone(2);
    expect(w.checks.map((c) => c.result)).to.deep.equal([{ ok: true }, { ok: true }]);
    // The cluster name is not a valid authority (svc|80): the host's address:port instead.
    expect(authorities[0]).to.equal(`127.0.0.1:${port}`);
    status = 500;
    await w.becomes(false);
    status = 200;
    await w.becomes(true);
  });
});
