// The local rate limit filter through a live handler on real sockets: a spent bucket answers 429 with retry-after
// and x-ratelimit-* headers before any upstream sees the request; route overrides have buckets of their own.
import { expect } from 'chai';
import {
  type HttpFilterConfig,
  LOCAL_RATELIMIT_TYPE,
  type LocalRateLimitConfig,
  type PerFilterConfigs,
  type RateLimitSpec,
  type Route,
} from '../../config/model.ts';
import { route, send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

const ALL = { numerator: 100, denominator: 100 };
const NAME = 'envoy.filters.http.local_ratelimit';

/** A bucket of `tokens` that refills after an hour (never within a test). */
function limit(tokens: number, extra: Partial<LocalRateLimitConfig> = {}): LocalRateLimitConfig {
  return {
    statPrefix: 'inbound_rl',
    tokenBucket: { maxTokens: tokens, tokensPerFill: tokens, fillIntervalMs: 3_600_000 },
    enabled: ALL,
    enforced: ALL,
    status: 429,
    resourceExhausted: false,
    rateLimitHeaders: false,
    descriptors: [],
    alwaysConsumeDefault: true,
    ...extra,
  };
}

const chain = (config: LocalRateLimitConfig): HttpFilterConfig[] => [
  { name: NAME, typeName: LOCAL_RATELIMIT_TYPE, config },
];
const override = (config: LocalRateLimitConfig): PerFilterConfigs => ({
  [NAME]: { typeName: LOCAL_RATELIMIT_TYPE, config },
});

describe('local rate limit filter (envoy.filters.http.local_ratelimit)', () => {
  const bench = filterBench();
  const proxy = (config: LocalRateLimitConfig, routes?: Route[]) => bench.proxy(chain(config), routes);

  it('serves max_tokens requests, then answers 429 with retry-after and x-ratelimit-*, the app untouched', async () => {
    const p = await proxy(limit(3));
    for (let i = 0; i < 3; i++) expect((await send(p.port, '/')).status).to.equal(200);
    const before = bench.hits;
    const refused = await send(p.port, '/');
    expect(refused.status).to.equal(429);
    expect(refused.body).to.equal('local_rate_limited');
    expect(refused.headers['x-trellis-response-flags']).to.equal('RL');
    expect(refused.headers['x-ratelimit-limit']).to.equal('3');
    expect(refused.headers['x-ratelimit-remaining']).to.equal('0');
    expect(Number(refused.headers['retry-after'])).to.be.within(3590, 3600);
    expect(bench.hits).to.equal(before);
    expect(p.stats.counter('inbound_rl.http_local_rate_limit.ok')).to.equal(3);
    expect(p.stats.counter('inbound_rl.http_local_rate_limit.rate_limited')).to.equal(1);
    expect(p.stats.counter('inbound_rl.http_local_rate_limit.enforced')).to.equal(1);
  });

  it('with x-ratelimit headers on, every admitted response tells the client its quota', async () => {
    const p = await proxy(limit(3, { rateLimitHeaders: true }));
    const first = await send(p.port, '/');
    expect(first.status).to.equal(200);
    expect(first.headers['x-ratelimit-limit']).to.equal('3');
    expect(first.headers['x-ratelimit-remaining']).to.equal('2');
    expect(Number(first.headers['x-ratelimit-reset'])).to.be.within(3590, 3600);
    expect((await send(p.port, '/')).headers['x-ratelimit-remaining']).to.equal('1');
  });

  it('filter_enforced 0 %: counts what it would refuse, refuses nothing (shadow mode)', async () => {
    const p = await proxy(limit(1, { enforced: { numerator: 0, denominator: 100 } }));
    for (let i = 0; i < 3; i++) expect((await send(p.port, '/')).status).to.equal(200);
    expect(p.stats.counter('inbound_rl.http_local_rate_limit.rate_limited')).to.equal(2);
    expect(p.stats.counter('inbound_rl.http_local_rate_limit.enforced')).to.equal(0);
  });

  it('a route override has a bucket of its own; the configured status is used', async () => {
    const p = await proxy(limit(100), [
      route({
        name: 'tight',
        prefix: '/tight',
        cluster: 'app',
        perFilterConfig: override(limit(1, { status: 503 })),
      }),
      route({ prefix: '/', cluster: 'app' }),
    ]);
    expect((await send(p.port, '/tight')).status).to.equal(200);
    expect((await send(p.port, '/tight')).status).to.equal(503);
    expect((await send(p.port, '/other')).status).to.equal(200);
  });

  it('requests the router refuses (no route, no cluster) spend tokens too: a flood of unrouted paths is held', async () => {
    const p = await proxy(limit(2), [
      route({ prefix: '/api', cluster: 'app' }),
      route({ prefix: '/gone', cluster: 'none' }),
    ]);
    expect((await send(p.port, '/nope')).status).to.equal(404);
    expect((await send(p.port, '/gone')).status).to.equal(503);
    expect((await send(p.port, '/nope')).status).to.equal(429);
    expect((await send(p.port, '/api')).status).to.equal(429);
  });

  describe('descriptors from the route (per client, per header value)', () => {
    /** Every route's requests carry these `rate_limits`. */
    const limited = (rateLimits: RateLimitSpec[]): Route[] => {
      const r = route({ prefix: '/', cluster: 'app' });
      if (r.action.type === 'route') r.action.route.rateLimits = rateLimits;
      return [r];
    };
    const perClient = (tokens: number): LocalRateLimitConfig['descriptors'][number] => ({
      entries: [{ key: 'remote_address', value: '' }],
      tokenBucket: { maxTokens: tokens, tokensPerFill: tokens, fillIntervalMs: 3_600_000 },
    });
    // One trusted hop: the client is the address the first proxy appended.
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

    it('a wildcard remote_address descriptor keeps a bucket per client address', async () => {
      const p = await bench.proxy(
        chain({ ...limit(1000), descriptors: [perClient(2)] }),
        limited([{ stage: 0, actions: [{ kind: 'remote_address' }] }]),
        { xffNumTrustedHops: 1 },
      );
      for (let i = 0; i < 2; i++) expect((await send(p.port, '/', from('10.0.0.1'))).status).to.equal(200);
      const refused = await send(p.port, '/', from('10.0.0.1'));
      expect(refused.status).to.equal(429);
      expect(refused.headers['x-ratelimit-limit']).to.equal('2');
      // Another client has its own bucket.
      expect((await send(p.port, '/', from('10.0.0.2'))).status).to.equal(200);
    });

    it('a request_headers descriptor limits per header value; requests without the header take the default bucket only', async () => {
      const p = await bench.proxy(
        chain({ ...limit(4), descriptors: [{ ...perClient(1), entries: [{ key: 'api_key', value: '' }] }] }),
        limited([
          {
            stage: 0,
            actions: [{ kind: 'request_headers', header: 'x-api-key', descriptorKey: 'api_key', skipIfAbsent: false }],
          },
        ]),
      );
      const key = (k: string) => ({ headers: { 'x-api-key': k } });
      expect((await send(p.port, '/', key('a'))).status).to.equal(200);
      expect((await send(p.port, '/', key('a'))).status).to.equal(429);
      expect((await send(p.port, '/', key('b'))).status).to.equal(200);
      // The default bucket (4) counted a and b's admitted requests; a refusal spends nothing more of it.
      expect((await send(p.port, '/')).status).to.equal(200);
      expect((await send(p.port, '/')).status).to.equal(200);
      expect((await send(p.port, '/')).status).to.equal(429);
    });

    it('always_consume_default_token_bucket off: requests a descriptor matched leave the default bucket alone', async () => {
      const p = await bench.proxy(
        chain({
          ...limit(1),
          alwaysConsumeDefault: false,
          descriptors: [{ ...perClient(5), entries: [{ key: 'tenant', value: 'gold' }] }],
        }),
        limited([{ stage: 0, actions: [{ kind: 'generic_key', descriptorKey: 'tenant', value: 'gold' }] }]),
      );
      for (let i = 0; i < 5; i++) expect((await send(p.port, '/')).status).to.equal(200);
      expect((await send(p.port, '/')).status).to.equal(429);
    });

    it('a descriptor with the exact value wins over a wildcard one, whatever the configured order (Envoy)', async () => {
      const p = await bench.proxy(
        chain({
          ...limit(1000),
          descriptors: [perClient(1), { ...perClient(100), entries: [{ key: 'remote_address', value: '10.0.0.1' }] }],
        }),
        limited([{ stage: 0, actions: [{ kind: 'remote_address' }] }]),
        { xffNumTrustedHops: 1 },
      );
      for (let i = 0; i < 3; i++) expect((await send(p.port, '/', from('10.0.0.1'))).status).to.equal(200);
      expect((await send(p.port, '/', from('10.0.0.2'))).status).to.equal(200);
      expect((await send(p.port, '/', from('10.0.0.2'))).status).to.equal(429);
    });
  });
});
