// Fuzzing the xDS resource decoders (fast-check): valid Envoy resources with arbitrary JSON-ish values put anywhere,
// and arbitrary objects, decode to a model or a DecodeError message naming the resource and the field path; never
// another exception and never a stall. FUZZ_SEED / FUZZ_RUNS explore further.
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeCluster } from './decode-cluster.ts';
import { decodeClusterLoadAssignment } from './decode-endpoint.ts';
import { decodeListener } from './decode-listener.ts';
import { decodeRouteConfiguration } from './decode-route.ts';
import type { Decoded } from './decode-values.ts';
import {
  edsCluster,
  HCM,
  hcm,
  loadAssignment,
  routeConfiguration,
  socketListener,
  TCP_PROXY,
} from './envoy-fixtures.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1111);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

type Obj = Record<string, unknown>;

/** A rich route configuration: the matchers, actions and policies the translator emits. */
const ROUTES: Obj = routeConfiguration(
  'rc',
  [
    {
      name: 'orders/0',
      match: {
        prefix: '/api',
        headers: [
          { name: 'X-Canary', string_match: { exact: '1' } },
          { name: 'x-re', safe_regex_match: { regex: '^(a|a)*$' } },
        ],
        query_parameters: [{ name: 'q', string_match: { prefix: 'x' } }],
      },
      route: {
        weighted_clusters: {
          clusters: [
            { name: 'orders|8080|v2', weight: { value: 10 } },
            { name: 'orders|8080|v1', weight: { value: 90 } },
          ],
        },
        prefix_rewrite: '/',
        timeout: { seconds: 2 },
        idle_timeout: { seconds: 1, nanos: 5e8 },
        retry_policy: {
          retry_on: '5xx,connect-failure,reset',
          num_retries: { value: 3 },
          per_try_timeout: { nanos: 500_000_000 },
          retriable_status_codes: [503],
        },
        hash_policy: [{ header: { header_name: 'X-User' } }, { connection_properties: { source_ip: true } }],
      },
      request_headers_to_add: [{ header: { key: 'x-mesh', value: 'trellis' } }],
      request_headers_to_remove: ['x-debug'],
    },
    {
      match: { safe_regex: { regex: '/v[0-9]+/.*' }, case_sensitive: { value: false } },
      route: {
        cluster: 'c',
        regex_rewrite: { pattern: { regex: '^/v([0-9]+)/' }, substitution: '/version/\\1/' },
      },
    },
    { match: { path: '/direct' }, direct_response: { status: 204 } },
    { match: { connect_matcher: {} }, route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT' }] } },
  ],
  ['orders', 'orders:8080'],
);

const CLUSTER: Obj = edsCluster('orders|8080', {
  lb_policy: 'RING_HASH',
  ring_hash_lb_config: { minimum_ring_size: { value: 1024 } },
  circuit_breakers: { thresholds: [{ max_connections: { value: 10 }, max_requests: { value: 20 } }] },
  outlier_detection: { consecutive_5xx: { value: 5 }, interval: { seconds: 5 }, max_ejection_percent: { value: 50 } },
  health_checks: [
    {
      timeout: { seconds: 1 },
      interval: { seconds: 5 },
      unhealthy_threshold: { value: 2 },
      healthy_threshold: { value: 1 },
      http_health_check: { path: '/healthz' },
    },
  ],
});

const LOAD_ASSIGNMENT: Obj = loadAssignment('orders|8080', '10.0.0.1:8080', '10.0.0.2:8080');

const HTTP_LISTENER: Obj = socketListener(
  'outbound',
  hcm('outbound', {
    use_remote_address: { value: true },
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    stream_idle_timeout: { seconds: 30 },
    request_headers_timeout: { seconds: 10 },
    common_http_protocol_options: { idle_timeout: { seconds: 60 }, max_headers_count: { value: 100 } },
    http2_protocol_options: { max_concurrent_streams: { value: 100 } },
  }),
  { traffic_direction: 'OUTBOUND' },
);

const INLINE_LISTENER: Obj = socketListener('inline', {
  ...hcm('x'),
  rds: undefined,
  route_config: ROUTES,
  '@type': HCM,
});

const TCP_LISTENER: Obj = socketListener('tcp', {
  '@type': TCP_PROXY,
  stat_prefix: 'tcp',
  cluster: 'orders|7000',
  idle_timeout: { seconds: 60 },
});

/** What decodeAny can hand a decoder, and worse: JSON values, odd numbers, byte arrays, deep nesting. */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      2 ** 53,
      -0,
      '',
      '-1',
      '1e400',
      '18446744073709551616',
      '(a|a)*$',
      '(?=x)',
      '[',
      '\\',
      '%',
      '%DOWNSTREAM_REMOTE_ADDRESS%',
      'x'.repeat(10_000),
      new Uint8Array([0, 255]),
      null,
      undefined,
      [],
      {},
    ),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);

/** Every path (list of keys) into an object, the root excluded. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v))
    for (let i = 0; i < v.length; i++) {
      out.push([...prefix, i]);
      paths(v[i], [...prefix, i], out);
    }
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))
    for (const [k, item] of Object.entries(v as Obj)) {
      out.push([...prefix, k]);
      paths(item, [...prefix, k], out);
    }
  return out;
}

/** A deep copy with `value` put at path number `pick` (or the key deleted, or a new key added beside it). */
function mutate(seed: Obj, edits: [number, unknown, 'set' | 'delete' | 'add'][]): Obj {
  const copy = structuredClone(seed);
  for (const [pick, generated, kind] of edits) {
    // A copy: constants are shared between runs, and one edit may put a value inside another.
    const value = structuredClone(generated);
    const all = paths(copy);
    if (all.length === 0) break;
    const path = all[pick % all.length] as (string | number)[];
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
    const last = path.at(-1) as string | number;
    const p = parent as Record<string | number, unknown>;
    if (kind === 'delete' && !Array.isArray(p)) delete p[last];
    else if (kind === 'add' && !Array.isArray(p)) p[`fuzz_${String(last)}`] = value;
    else p[last] = value;
  }
  return copy;
}

const edits = fc.array(
  fc.tuple(fc.nat(), jsonish, fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<'set' | 'delete' | 'add'>),
  {
    minLength: 1,
    maxLength: 5,
  },
);

/** Decodes, checking the contract: a value, or an error `<kind> <name>: <path>: <problem>`, fast. */
function checkDecoded<T>(kind: string, o: Obj, decode: (o: Obj) => Decoded<T>): void {
  const start = performance.now();
  const r = decode(o);
  expect(performance.now() - start, 'decode time (ms)').to.be.below(250);
  if ('error' in r) {
    const name = o[kind === 'cluster load assignment' ? 'cluster_name' : 'name'];
    const prefix = `${kind} ${typeof name === 'string' && name !== '' ? name : '(unnamed)'}: `;
    expect(r.error.startsWith(prefix), r.error).to.equal(true);
    // Then a field path and its problem, or a whole-resource problem.
    expect(r.error.length, r.error).to.be.above(prefix.length);
  } else expect(r.value === null || typeof r.value === 'object').to.equal(true);
}

const DECODERS: [string, Obj[], (o: Obj) => Decoded<unknown>][] = [
  ['listener', [HTTP_LISTENER, INLINE_LISTENER, TCP_LISTENER], (o) => decodeListener(o, 'v1')],
  ['route configuration', [ROUTES], (o) => decodeRouteConfiguration(o, 'v1')],
  ['cluster', [CLUSTER], (o) => decodeCluster(o, 'v1')],
  ['cluster load assignment', [LOAD_ASSIGNMENT], (o) => decodeClusterLoadAssignment(o, 'v1')],
];

describe('xDS decoders: fuzzing', () => {
  for (const [kind, seeds, decode] of DECODERS) {
    it(`${kind}: the seeds decode, and arbitrary values anywhere give a model or a DecodeError message`, () => {
      for (const seed of seeds) {
        const r = decode(seed);
        expect('error' in r ? r.error : 'ok', `seed ${String(seed['name'] ?? seed['cluster_name'])}`).to.equal('ok');
      }
      fc.assert(
        fc.property(fc.constantFrom(...seeds), edits, (seed, e) => {
          checkDecoded(kind, mutate(seed, e), decode);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it(`${kind}: arbitrary objects give a DecodeError message, never another exception`, () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string({ maxLength: 12 }), jsonish, { maxKeys: 6 }), (o) => {
          checkDecoded(kind, o as Obj, decode);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });
  }
});
