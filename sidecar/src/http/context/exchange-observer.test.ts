// The exchange's observer hooks on real sockets: attemptEnd once per attempt, end once, and what the client really got.
import type { ServerResponse } from 'node:http';
import { expect } from 'chai';
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
import type { AttemptOutcome, ExchangeObserverFactory, ExchangeSummary, RequestObserver } from './exchange-observer.ts';

type Upstream = Awaited<ReturnType<typeof startHttpUpstream>>;

/** Records every hook call of every request; `ended` resolves with the next summary. */
class Recorder implements ExchangeObserverFactory {
  readonly calls: string[][] = [];
  readonly summaries: ExchangeSummary[] = [];
  private waiters: ((s: ExchangeSummary) => void)[] = [];

  forHttp() {
    return {
      begin: (): RequestObserver => {
        const calls: string[] = [];
        this.calls.push(calls);
        return {
          routed: (_route, cluster) => calls.push(`routed ${cluster ?? '-'}`),
          attemptStart: (_host, n) => calls.push(`start ${n}`),
          attemptEnd: (_host, outcome: AttemptOutcome) =>
            calls.push('status' in outcome ? `end ${outcome.status}` : `error ${outcome.error}`),
          end: (summary) => {
            calls.push(`done ${summary.status}${summary.reset ? ' reset' : ''}`);
            this.summaries.push(summary);
            for (const w of this.waiters.splice(0)) w(summary);
          },
        };
      },
    };
  }

  ended(): Promise<ExchangeSummary> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

describe('http exchange: observer hooks', () => {
  const held: ServerResponse[] = [];
  let headThenReset: Upstream;
  let stalled: Upstream;
  let proxy: ProxyUnderTest;
  const recorder = new Recorder();

  before(async () => {
    headThenReset = await startHttpUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial', () => res.socket?.destroy());
    });
    stalled = await startHttpUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      held.push(res);
    });
    const clusters = new TestClusters();
    clusters.add('reset', [headThenReset.port]);
    clusters.add('stalled', [stalled.port]);
    clusters.add('empty', []);
    const routes = routeConfig([
      vhost(
        'all',
        ['*'],
        [
          route({ prefix: '/reset', cluster: 'reset' }),
          route({ prefix: '/stalled', cluster: 'stalled', idleTimeoutMs: 150 }),
          route({ prefix: '/empty', cluster: 'empty' }),
        ],
      ),
    ]);
    proxy = await startProxy(routes, clusters, {}, [recorder]);
  });

  after(async () => {
    for (const res of held) res.destroy();
    await proxy?.close();
    await headThenReset?.close();
    await stalled?.close();
  });

  it('an upstream reset after the response head: one attemptEnd (the head), then end with reset', async () => {
    const ended = recorder.ended();
    await send(proxy.port, '/reset').catch(() => undefined);
    const summary = await ended;
    expect(recorder.calls.at(-1)).to.deep.equal(['routed reset', 'start 1', 'end 200', 'done 200 reset']);
    expect(summary.flags).to.equal('UR');
  });

  it('an idle timeout after the response head: one attemptEnd, then end with reset', async () => {
    const ended = recorder.ended();
    await send(proxy.port, '/stalled').catch(() => undefined);
    const summary = await ended;
    expect(recorder.calls.at(-1)).to.deep.equal(['routed stalled', 'start 1', 'end 200', 'done 200 reset']);
    expect(summary.flags).to.equal('SI');
  });

  it('a gRPC local reply is recorded as the client got it: HTTP 200, grpc-status UNAVAILABLE, no body bytes', async () => {
    const ended = recorder.ended();
    const r = await send(proxy.port, '/empty', { method: 'POST', headers: { 'content-type': 'application/grpc' } });
    expect(r.status).to.equal(200);
    expect(r.headers['grpc-status']).to.equal('14');
    const summary = await ended;
    expect(summary).to.include({ status: 200, grpcStatus: 14, bytesSent: 0, flags: 'UH' });
  });

  it('an HTTP local reply counts its body bytes', async () => {
    const ended = recorder.ended();
    const r = await send(proxy.port, '/empty');
    expect(r.status).to.equal(503);
    const summary = await ended;
    expect(summary).to.include({ status: 503, bytesSent: Buffer.byteLength(r.body), flags: 'UH' });
  });
});
