// The response-trailers and log phases through a live connection manager: a filter rewrites an upstream's trailers,
// and hears how each stream ended (forwarded, answered locally, failed upstream), even when another filter throws.
import http from 'node:http';
import { expect } from 'chai';
import { FAULT_TYPE, type HttpFilterConfig } from '../../config/model.ts';
import {
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from '../test-harness.ts';
import type { HttpFilter, StreamLog } from './filter.ts';
import { HttpFilterRegistry } from './registry.ts';

/** A copy of what onLog saw (the log object is only valid during the call). */
type Logged = Omit<StreamLog, never>;

function copy(log: StreamLog): Logged {
  return {
    status: log.status,
    grpcStatus: log.grpcStatus,
    flags: log.flags,
    routeName: log.routeName,
    cluster: log.cluster,
    attempts: log.attempts,
    upstreamAddress: log.upstreamAddress,
    bytesReceived: log.bytesReceived,
    bytesSent: log.bytesSent,
    reset: log.reset,
    durationMs: log.durationMs,
  };
}

/** GET with a body-reading client that also collects the response trailers. */
function getWithTrailers(port: number, path: string): Promise<{ status: number; body: string; trailers: object }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, trailers: { ...res.trailers } }));
      })
      .on('error', reject);
  });
}

describe('HTTP filter phases: response trailers and log', () => {
  let app: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest | undefined;
  const logs: Logged[] = [];

  before(async () => {
    app = await startHttpUpstream((req, res) => {
      if (req.url === '/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('part one;');
        res.addTrailers({ 'x-checksum': 'abc123', 'x-drop': 'me' });
        res.end('part two');
        return;
      }
      if (req.url === '/reset') {
        res.socket?.destroy();
        return;
      }
      res.end('hello');
    });
  });
  after(async () => {
    await app.close();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    logs.length = 0;
  });

  /** A proxy whose filters are made by `make` (one per listed filter), over /dead (no hosts) and / (the app). */
  async function start(make: Array<() => HttpFilter>): Promise<ProxyUnderTest> {
    const registry = new HttpFilterRegistry();
    let n = 0;
    registry.register(FAULT_TYPE, {
      prepare: () => ({ create: () => (make[n++ % make.length] as () => HttpFilter)() }),
    });
    const clusters = new TestClusters();
    clusters.add('app', [app.port]);
    clusters.add('dead', []);
    const filters: HttpFilterConfig[] = make.map((_, i) => ({
      name: `f${i}`,
      typeName: FAULT_TYPE,
      config: { headers: [], maxActiveFaults: undefined },
    }));
    const routes = [route({ prefix: '/dead', cluster: 'dead' }), route({ prefix: '/', cluster: 'app', name: 'all' })];
    proxy = await startProxy(
      routeConfig([vhost('v', ['localhost', '127.0.0.1'], routes)]),
      clusters,
      { statPrefix: 'in', httpFilters: filters },
      undefined,
      {},
      registry,
    );
    return proxy;
  }

  const logging = (): HttpFilter => ({
    onRequestHeaders: () => 'continue',
    onLog: (log) => logs.push(copy(log)),
    onDestroy: () => undefined,
  });

  it('a filter rewrites, adds and removes upstream trailers; the body passes unchanged', async () => {
    const p = await start([
      () => ({
        onRequestHeaders: () => 'continue',
        onResponseTrailers: (trailers) => {
          for (let i = 0; i < trailers.length; i += 2) {
            if (trailers[i] === 'x-checksum') trailers[i + 1] = (trailers[i + 1] as string).toUpperCase();
          }
          const drop = trailers.indexOf('x-drop');
          if (drop >= 0) trailers.splice(drop, 2);
          trailers.push('x-filtered', 'yes');
        },
        onDestroy: () => undefined,
      }),
    ]);
    const res = await getWithTrailers(p.port, '/trailers');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('part one;part two');
    expect(res.trailers).to.deep.equal({ 'x-checksum': 'ABC123', 'x-filtered': 'yes' });
  });

  it('the log phase hears a forwarded request: status, route, cluster, one attempt, the host, bytes, duration', async () => {
    const p = await start([logging]);
    const res = await send(p.port, '/hello');
    expect(res.body).to.equal('hello');
    expect(logs).to.have.length(1);
    const log = logs[0] as Logged;
    expect(log).to.deep.include({
      status: 200,
      flags: '',
      routeName: 'all',
      cluster: 'app',
      attempts: 1,
      upstreamAddress: `127.0.0.1:${app.port}`,
      bytesReceived: 0,
      bytesSent: 5,
      reset: false,
    });
    expect(log.durationMs).to.be.at.least(0).and.below(10_000);
  });

  it('the log phase hears local replies and upstream failures with their flags', async () => {
    const p = await start([logging]);
    expect((await send(p.port, '/dead')).status).to.equal(503);
    expect((await send(p.port, '/reset')).status).to.equal(503);
    expect(logs.map((l) => [l.status, l.flags, l.cluster, l.attempts])).to.deep.equal([
      [503, 'UH', 'dead', 0],
      [503, 'UR', 'app', 1],
    ]);
  });

  it('a throwing log phase costs nothing: the next filter still logs, the proxy keeps serving', async () => {
    let destroyed = 0;
    const p = await start([
      () => ({
        onRequestHeaders: () => 'continue',
        onLog: () => {
          throw new Error('log failed');
        },
        onDestroy: () => {
          destroyed++;
        },
      }),
      logging,
    ]);
    for (let i = 0; i < 3; i++) expect((await send(p.port, '/hello')).status).to.equal(200);
    expect(logs.map((l) => l.status)).to.deep.equal([200, 200, 200]);
    expect(destroyed).to.equal(3);
  });
});
