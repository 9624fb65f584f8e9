// The fault filter through a live handler on real sockets: aborts, delays, per-route overrides, header control,
// shares of requests, the max_active_faults bound and the release of a delayed request whose client goes away.
import net from 'node:net';
import { expect } from 'chai';
import {
  FAULT_TYPE,
  type FaultConfig,
  type HttpFilterConfig,
  type PerFilterConfigs,
  type Route,
} from '../../config/model.ts';
import { seedRandom } from '../../http/message/random.ts';
import { route, send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

const ALL = { numerator: 100, denominator: 100 };

function fault(config: Partial<FaultConfig>): FaultConfig {
  return { headers: [], maxActiveFaults: undefined, ...config };
}

function chain(config: FaultConfig): HttpFilterConfig[] {
  return [{ name: 'envoy.filters.http.fault', typeName: FAULT_TYPE, config }];
}

function override(config: FaultConfig): PerFilterConfigs {
  return { 'envoy.filters.http.fault': { typeName: FAULT_TYPE, config } };
}

describe('fault filter (envoy.filters.http.fault)', () => {
  const bench = filterBench();
  const proxy = (config: FaultConfig, routes?: Route[]) => bench.proxy(chain(config), routes);

  it('aborts with the configured status before any upstream sees the request, flagged FI', async () => {
    const p = await proxy(fault({ abort: { httpStatus: 503, percentage: ALL } }));
    const before = bench.hits;
    const res = await send(p.port, '/orders');
    expect(res.status).to.equal(503);
    expect(res.body).to.equal('fault filter abort');
    expect(res.headers['x-trellis-response-flags']).to.equal('FI');
    expect(bench.hits).to.equal(before);
    expect(p.stats.counter('http.in.fault.aborts_injected')).to.equal(1);
    expect(p.stats.gaugeValue('http.in.fault.active_faults')).to.equal(0);
  });

  it("an aborted or delayed request holds none of the cluster's request slots (the router takes one after)", async () => {
    const p = await proxy(fault({ abort: { httpStatus: 503, percentage: ALL } }));
    const app = bench.clusters.get('app') as unknown as { activeRequests: number };
    for (let i = 0; i < 5; i++) expect((await send(p.port, '/')).status).to.equal(503);
    expect(app.activeRequests, 'slots given back').to.equal(0);
  });

  it('delays by the fixed delay, then forwards', async () => {
    const p = await proxy(fault({ delay: { fixedDelayMs: 60, percentage: ALL } }));
    const started = performance.now();
    const res = await send(p.port, '/orders');
    expect(res.status).to.equal(200);
    expect(performance.now() - started).to.be.at.least(55);
    expect(p.stats.counter('http.in.fault.delays_injected')).to.equal(1);
  });

  it('a route override replaces the filter config; a route without one keeps the filter config', async () => {
    const p = await proxy(fault({}), [
      route({
        name: 'broken',
        prefix: '/broken',
        cluster: 'app',
        perFilterConfig: override(fault({ abort: { httpStatus: 418, percentage: ALL } })),
      }),
      route({ prefix: '/', cluster: 'app' }),
    ]);
    expect((await send(p.port, '/broken/x')).status).to.equal(418);
    expect((await send(p.port, '/fine')).status).to.equal(200);
  });

  it('header_abort: the request names the status; its percentage header lowers the share, never raises it', async () => {
    const p = await proxy(fault({ abort: { percentage: ALL } }));
    expect((await send(p.port, '/', { headers: { 'x-envoy-fault-abort-request': '429' } })).status).to.equal(429);
    expect((await send(p.port, '/')).status).to.equal(200);
    const none = await send(p.port, '/', {
      headers: { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-abort-request-percentage': '0' },
    });
    expect(none.status).to.equal(200);
    // Out of range: no fault, the request goes through.
    expect((await send(p.port, '/', { headers: { 'x-envoy-fault-abort-request': '99' } })).status).to.equal(200);
  });

  it('only requests matching the header matchers are faulted', async () => {
    const p = await proxy(
      fault({
        abort: { httpStatus: 500, percentage: ALL },
        headers: [{ name: 'x-chaos', matcher: { kind: 'exact', value: 'on', ignoreCase: false }, invert: false }],
      }),
    );
    expect((await send(p.port, '/', { headers: { 'x-chaos': 'on' } })).status).to.equal(500);
    expect((await send(p.port, '/', { headers: { 'x-chaos': 'off' } })).status).to.equal(200);
  });

  it('a 25 % share aborts within the binomial bounds (seeded)', async () => {
    seedRandom(12345);
    const p = await proxy(fault({ abort: { httpStatus: 503, percentage: { numerator: 2500, denominator: 10_000 } } }));
    let aborted = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if ((await send(p.port, '/')).status === 503) aborted += 1;
    // Mean 100, standard deviation √(400·0.25·0.75) ≈ 8.7: ±5σ.
    expect(aborted).to.be.within(57, 143);
    expect(p.stats.counter('http.in.fault.aborts_injected')).to.equal(aborted);
  });

  it('max_active_faults: past the bound requests pass untouched; a client that leaves mid-delay frees its place', async () => {
    const p = await proxy(fault({ delay: { fixedDelayMs: 60_000, percentage: ALL }, maxActiveFaults: 1 }));
    // A request held by a one-minute delay.
    const held = net.connect(p.port, '127.0.0.1');
    held.write('GET /held HTTP/1.1\r\nhost: x\r\n\r\n');
    await waitUntil(() => p.stats.gaugeValue('http.in.fault.active_faults') === 1);
    expect(
      (bench.clusters.get('app') as unknown as { activeRequests: number }).activeRequests,
      'no slot while held',
    ).to.equal(0);
    const passed = await send(p.port, '/second');
    expect(passed.status).to.equal(200);
    expect(p.stats.counter('http.in.fault.faults_overflow')).to.equal(1);
    held.destroy();
    await waitUntil(() => p.stats.gaugeValue('http.in.fault.active_faults') === 0);
    await waitUntil(() => p.stats.gaugeValue('http.in.downstream_rq_active') === 0);
  });
});

/** Polls a condition the handler reaches through socket events (no fixed sleeps). */
async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
