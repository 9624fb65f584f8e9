// Fuzzing the operator-resource validator (fast-check): valid documents of every kind with arbitrary values set,
// deleted or added anywhere, and arbitrary values, give a valid resource or issues naming the document; never a
// throw, never a stall. FUZZ_SEED / FUZZ_RUNS explore further.
import { expect } from 'chai';
import fc from 'fast-check';
import { validateResource } from './validate.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1112);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);

type Doc = Record<string, unknown>;

const SEEDS: Doc[] = [
  {
    apiVersion: 'trellis.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', labels: { team: 'shop', 'example.com/tier': 'gold' } },
    spec: {
      ports: [
        { name: 'http', port: 8080, protocol: 'HTTP' },
        { name: 'grpc', port: 9090, protocol: 'GRPC' },
      ],
      endpoints: [{ address: '10.0.0.7', port: 8080, weight: 2, labels: { version: 'v1' }, zone: 'a' }],
      sidecar: {
        serverName: 'orders',
        responseHeadersToRemove: ['x-powered-by'],
        requestHeadersTimeout: '5s',
        http2: { maxConcurrentStreams: 50 },
        maxConnections: 1000,
      },
    },
  },
  {
    apiVersion: 'trellis.dev/v1',
    kind: 'Route',
    metadata: { name: 'orders' },
    spec: {
      hosts: ['orders', '*.example.com'],
      http: [
        {
          name: 'canary',
          match: [
            { pathPrefix: '/api', headers: { 'x-canary': { exact: '1' } }, methods: ['GET'] },
            { pathRegex: '^/(a|a)*$', queryParams: { q: { regex: '[0-9]+' } }, cookies: { s: { present: true } } },
          ],
          rewrite: { regex: { pattern: '^/v([0-9]+)/', substitution: '/version/\\1/' }, host: 'orders.internal' },
          route: [
            { service: 'orders', subset: 'v2', weight: 10 },
            { service: 'orders', subset: 'v1', weight: 90 },
          ],
          timeout: '2s',
          idleTimeout: '1m',
          retries: { attempts: 3, perTryTimeout: '500ms', retryOn: ['5xx', 'connect-failure', 'reset'] },
          headers: { request: { set: { 'x-mesh': 'trellis' }, remove: ['x-debug'] }, response: { add: { a: 'b' } } },
        },
      ],
    },
  },
  {
    apiVersion: 'trellis.dev/v1',
    kind: 'TrafficPolicy',
    metadata: { name: 'orders' },
    spec: {
      service: 'orders',
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      loadBalancer: { algorithm: 'RING_HASH', consistentHash: { header: 'x-user' } },
      healthCheck: { http: { path: '/healthz', expectedStatuses: [200, '200-299'] }, interval: '5s' },
      outlierDetection: { consecutive5xx: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      connectionPool: { connectTimeout: '1s', maxConnections: 100, maxRetries: 0, idleTimeout: '1m' },
    },
  },
  {
    apiVersion: 'trellis.dev/v1',
    kind: 'Telemetry',
    metadata: { name: 'orders' },
    spec: {
      selector: { service: 'orders' },
      tracing: { samplingPercent: 1 },
      accessLog: {
        path: '/dev/stdout',
        format: { start: '%START_TIME%', status: '%RESPONSE_CODE%', id: '%REQ(X-REQUEST-ID):16% on %ROUTE_NAME%' },
        samplingPercent: 100,
      },
    },
  },
];

/** What YAML or JSON can hand the validator, and worse. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      0,
      2 ** 53,
      4_294_967_296,
      1.5,
      '',
      '0s',
      '-1s',
      '596h',
      '99999999999h',
      '1e400s',
      '(a|a)*$',
      '(?=x)',
      '(a+)+',
      '%',
      '%REQ(',
      'x'.repeat(100_000),
      'Ω',
      null,
      undefined,
      [],
      {},
      true,
    ),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v))
    for (let i = 0; i < v.length; i++) {
      out.push([...prefix, i]);
      paths(v[i], [...prefix, i], out);
    }
  else if (v !== null && typeof v === 'object')
    for (const [k, item] of Object.entries(v as Doc)) {
      out.push([...prefix, k]);
      paths(item, [...prefix, k], out);
    }
  return out;
}

type Edit = [number, unknown, 'set' | 'delete' | 'add'];

/** A deep copy with each edit applied at path number `pick`: the value set there, the key deleted, or a key added. */
function mutate(seed: Doc, edits: Edit[]): Doc {
  const copy = structuredClone(seed);
  for (const [pick, generated, kind] of edits) {
    const v = structuredClone(generated);
    const all = paths(copy);
    if (all.length === 0) break;
    const path = all[pick % all.length] as (string | number)[];
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
    const p = parent as Record<string | number, unknown>;
    const last = path.at(-1) as string | number;
    if (kind === 'delete' && !Array.isArray(p)) delete p[last];
    else if (kind === 'add' && !Array.isArray(p)) p[`fuzz${String(last)}`] = v;
    else p[last] = v;
  }
  return copy;
}

const edits = fc.array(fc.tuple(fc.nat(), value, fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<Edit[2]>), {
  minLength: 1,
  maxLength: 5,
});

/** The contract: a resource and no errors, or errors (each naming the document) and no resource; fast. */
function check(doc: unknown): void {
  const start = performance.now();
  const r = validateResource(doc, 'document 7');
  expect(performance.now() - start, 'validation time (ms)').to.be.below(250);
  if (r.resource !== undefined) expect(r.errors).to.deep.equal([]);
  else {
    expect(r.errors.length).to.be.above(0);
    for (const e of r.errors) {
      expect(e).to.be.a('string');
      expect(e.startsWith('document 7'), e).to.equal(true);
    }
  }
}

describe('operator resource validator: fuzzing', () => {
  it('the seeds are valid', () => {
    for (const doc of SEEDS) expect(validateResource(doc, 'seed').errors).to.deep.equal([]);
  });

  it('valid documents with arbitrary values anywhere: a resource or issues, never a throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), edits, (seed, e) => {
        check(mutate(seed, e));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('arbitrary values and mappings: issues, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(value, fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 6 })), (doc) => {
        check(doc);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
