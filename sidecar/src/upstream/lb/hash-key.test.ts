// Hash keys: Envoy's combination of hash policies, skipping and terminal rules, and sticky cookies landing on their host.
import { expect } from 'chai';
import fc from 'fast-check';
import { Stats } from '../../common/stats.ts';
import type { HashPolicy } from '../../config/model.ts';
import { edsCluster, endpoint, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { UpstreamCluster } from '../upstream-cluster.ts';
import {
  type HashRequest,
  hashForCookieValue,
  missingStickyCookie,
  requestHashKey,
  stickyCookieValue,
  stickySetCookie,
} from './hash-key.ts';
import { setup } from './lb-registry.ts';
import { MaglevBalancer } from './maglev.ts';
import { RingHashBalancer } from './ring-hash.ts';
import { Rng } from './rng.ts';
import { xxh64 } from './xxhash64.ts';

function request(parts: {
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  sourceIp?: string;
  query?: Record<string, string>;
}): HashRequest {
  return {
    header: (name) => parts.headers?.[name],
    cookie: (name) => parts.cookies?.[name],
    sourceIp: parts.sourceIp ?? '',
    query: (name) => parts.query?.[name],
  };
}

const policy = (
  kind: HashPolicy['kind'],
  name = '',
  terminal = false,
  extra: Partial<HashPolicy> = {},
): HashPolicy => ({
  kind,
  name,
  terminal,
  ...extra,
});
const M64 = (1n << 64n) - 1n;
const fold = (old: bigint, h: bigint): bigint => (((old << 1n) | (old >> 63n)) & M64) ^ h;

describe('requestHashKey', () => {
  it('hashes one value with xxh64 (seed 0), whatever its kind', () => {
    expect(requestHashKey([policy('header', 'X-User')], request({ headers: { 'x-user': 'alice' } }))).to.equal(
      xxh64('alice'),
    );
    expect(requestHashKey([policy('cookie', 'sid')], request({ cookies: { sid: 's1' } }))).to.equal(xxh64('s1'));
    expect(requestHashKey([policy('source-ip')], request({ sourceIp: '10.1.2.3' }))).to.equal(xxh64('10.1.2.3'));
    expect(requestHashKey([policy('query', 'u')], request({ query: { u: '7' } }))).to.equal(xxh64('7'));
  });

  it('property: folds several values as rotl(hash, 1) ^ h, in order, skipping missing ones', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string(), { nil: undefined }), { maxLength: 6 }), (values) => {
        const headers: Record<string, string> = {};
        const policies = values.map((v, i) => {
          if (v !== undefined) headers[`h${i}`] = v;
          return policy('header', `h${i}`);
        });
        let expected: bigint | undefined;
        for (const v of values)
          if (v !== undefined) expected = expected === undefined ? xxh64(v) : fold(expected, xxh64(v));
        expect(requestHashKey(policies, request({ headers }))).to.equal(expected);
      }),
    );
  });

  it('no value at all → undefined (the balancer picks at random)', () => {
    expect(requestHashKey([], request({}))).to.equal(undefined);
    expect(requestHashKey([policy('header', 'a'), policy('source-ip', '', true)], request({}))).to.equal(undefined);
  });

  it('a terminal policy stops evaluation once a hash exists, even when its own value is missing', () => {
    const req = request({ headers: { a: '1', c: '3' } });
    expect(requestHashKey([policy('header', 'a', true), policy('header', 'c')], req)).to.equal(xxh64('1'));
    expect(requestHashKey([policy('header', 'a'), policy('header', 'b', true), policy('header', 'c')], req)).to.equal(
      xxh64('1'),
    );
    expect(requestHashKey([policy('header', 'b', true), policy('header', 'c')], req)).to.equal(xxh64('3'));
  });
});

describe('sticky cookies', () => {
  const sticky = policy('cookie', 'trellis-sticky', false, { cookieTtlMs: 3_600_000, cookiePath: '/' });

  it('formats the Set-Cookie value (session cookie when the TTL is 0) and finds the policy that needs one', () => {
    const [h] = testHosts([1]);
    const value = stickyCookieValue(h!);
    expect(value).to.match(/^[0-9a-f]{16}$/);
    expect(stickySetCookie(sticky, h!)).to.equal(`trellis-sticky=${value}; Max-Age=3600; Path=/; HttpOnly`);
    expect(stickySetCookie(policy('cookie', 's', false, { cookieTtlMs: 0 }), h!)).to.equal(`s=${value}; HttpOnly`);
    const policies = [policy('cookie', 'plain'), sticky];
    expect(missingStickyCookie(policies, request({}))).to.equal(sticky);
    expect(missingStickyCookie(policies, request({ cookies: { 'trellis-sticky': value } }))).to.equal(undefined);
    expect(missingStickyCookie([policy('cookie', 'plain')], request({}))).to.equal(undefined);
  });

  it('hashForCookieValue: the anchor a sticky value carries (quoted or not), else xxh64 like Envoy', () => {
    const [h] = testHosts([1]);
    const value = stickyCookieValue(h!);
    expect(hashForCookieValue(value)).to.equal(BigInt(`0x${value}`));
    expect(hashForCookieValue(`"${value}"`)).to.equal(BigInt(`0x${value}`));
    expect(hashForCookieValue('not-hex')).to.equal(xxh64('not-hex'));
  });

  it('property: the cookie of any host hashes back to that host in ring hash and Maglev', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }), (weights) => {
        const hs = testHosts(weights);
        const ring = new RingHashBalancer();
        ring.update(hs);
        const maglev = new MaglevBalancer({ tableSize: 1009 });
        maglev.update(hs);
        for (const h of hs) {
          const req = request({ cookies: { 'trellis-sticky': stickyCookieValue(h) }, sourceIp: '10.9.9.9' });
          const hash = requestHashKey([policy('source-ip'), sticky, policy('header', 'x')], req)!;
          expect(ring.pick({ hash })).to.equal(h);
          expect(maglev.pick({ hash })).to.equal(h);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('end to end: no cookie → some host, cookie set for it → every later request there; failover and return', () => {
    for (const lbPolicy of ['RING_HASH', 'MAGLEV'] as const) {
      const cluster = new UpstreamCluster(edsCluster('c', { lbPolicy }), {
        registry: setup(),
        stats: new Stats(),
        rng: new Rng(8),
      });
      cluster.setEndpoints([
        {
          zone: 'a',
          region: '',
          priority: 0,
          weight: 1,
          endpoints: Array.from({ length: 8 }, (_, i) => endpoint(`10.0.0.${i + 1}:80`)),
        },
      ]);
      for (let client = 0; client < 10; client++) {
        const first = request({});
        const hash = requestHashKey([sticky], first);
        expect(hash).to.equal(undefined);
        const host = cluster.pick({})!;
        expect(missingStickyCookie([sticky], first)).to.equal(sticky);
        const cookie = stickySetCookie(sticky, host).split(';')[0]!.split('=')[1]!;
        const later = request({ cookies: { 'trellis-sticky': cookie } });
        for (let i = 0; i < 5; i++) expect(cluster.pick({ hash: requestHashKey([sticky], later)! })).to.equal(host);
        host.healthy = false;
        const stand = cluster.pick({ hash: requestHashKey([sticky], later)! }) as Host;
        expect(stand).to.not.equal(host);
        expect(cluster.pick({ hash: requestHashKey([sticky], later)! })).to.equal(stand);
        host.healthy = true;
        expect(cluster.pick({ hash: requestHashKey([sticky], later)! })).to.equal(host);
      }
    }
  });
});
