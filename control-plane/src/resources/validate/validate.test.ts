// validateResource: valid documents pass; every bad input yields one message naming document, field and expectation.
import { expect } from 'chai';
import { validateResource } from './validate.ts';

const service = () => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: { name: 'orders', labels: { team: 'shop' } },
  spec: {
    ports: [
      { name: 'http', port: 8080, protocol: 'HTTP' },
      { name: 'grpc', port: 9090, protocol: 'GRPC' },
    ],
    endpoints: [{ address: '10.0.0.7', port: 8080, weight: 2, labels: { version: 'v1' }, zone: 'a' }],
  },
});

const route = () => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Route',
  metadata: { name: 'orders' },
  spec: {
    hosts: ['orders'],
    http: [
      {
        match: [{ pathPrefix: '/api', headers: { 'x-canary': { exact: '1' } }, methods: ['GET'] }],
        rewrite: { pathPrefix: '/' },
        route: [
          { service: 'orders', subset: 'v2', weight: 10 },
          { service: 'orders', subset: 'v1', weight: 90 },
        ],
        timeout: '2s',
        retries: { attempts: 3, perTryTimeout: '500ms', retryOn: ['5xx', 'connect-failure', 'reset'] },
        headers: { request: { set: { 'x-mesh': 'trellis' }, remove: ['x-debug'] } },
      },
    ],
  },
});

const policy = () => ({
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
    outlierDetection: { consecutive5xx: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
    connectionPool: { connectTimeout: '1s', maxConnections: 100, maxRetries: 0 },
  },
});

type Doc = Record<string, unknown>;

/** The single error for a document changed by `edit`. */
function errorsOf(base: () => Doc, edit: (d: Doc) => void): string[] {
  const doc = base();
  edit(doc);
  const result = validateResource(doc, 'document 2');
  expect(result.resource).to.equal(undefined);
  return result.errors;
}

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary paths of plain documents
type Loose = any;

describe('validateResource', () => {
  it('accepts the design examples and strips store stamps from metadata', () => {
    for (const make of [service, route, policy]) {
      const doc = make() as Loose;
      doc.metadata.generation = 3;
      doc.metadata.createdAt = '2024-01-01T00:00:00Z';
      const result = validateResource(doc, 'document 1');
      expect(result.errors).to.deep.equal([]);
      expect(result.resource?.metadata).to.not.have.property('generation');
      expect(result.resource?.spec).to.deep.equal(make().spec);
    }
  });

  it('rejects a document that is not a mapping', () => {
    expect(validateResource([1], 'document 1').errors).to.deep.equal([
      'document 1: expected a mapping with apiVersion, kind, metadata and spec, got a list',
    ]);
  });

  it('rejects an unknown kind, listing the known ones', () => {
    expect(errorsOf(service, (d) => (d['kind'] = 'Deployment'))).to.deep.equal([
      'document 2 (Deployment orders): kind: unknown kind Deployment, expected one of Service|Route|TrafficPolicy|Telemetry|PeerAuthentication|AuthorizationPolicy|RequestAuthentication|Gateway',
    ]);
  });

  it('checks apiVersion, metadata.name and unknown fields', () => {
    expect(errorsOf(service, (d) => (d['apiVersion'] = 'v1'))).to.deep.equal([
      'document 2 (Service orders): apiVersion: expected trellis.dev/v1, got "v1"',
    ]);
    expect(errorsOf(service, (d) => ((d as Loose).metadata.name = 'Orders_1'))[0]).to.match(
      /^document 2 \(Service Orders_1\): metadata\.name: expected a DNS-1123 label .*, got "Orders_1"$/,
    );
    expect(errorsOf(service, (d) => (d['specs'] = {}))).to.deep.equal([
      'document 2 (Service orders): specs: unknown field, expected one of apiVersion|kind|metadata|spec',
    ]);
    expect(errorsOf(route, (d) => ((d as Loose).spec.http[0].retrys = {}))).to.deep.equal([
      'document 2 (Route orders): spec.http[0].retrys: unknown field, expected one of name|match|rewrite|route|redirect|directResponse|timeout|idleTimeout|retries|headers|fault|mirror|cors',
    ]);
    expect(errorsOf(service, (d) => delete d['spec'])).to.deep.equal([
      'document 2 (Service orders): spec: required, expected a mapping',
    ]);
  });

  it('checks service ports and static endpoints', () => {
    const cases: [(d: Loose) => void, string][] = [
      [
        (d) => (d.spec.ports = []),
        'spec.ports: expected a non-empty list of ports ({name, port, protocol}), got a list',
      ],
      [(d) => (d.spec.ports[1].port = 70000), 'spec.ports[1].port: expected an integer from 1 to 65535, got 70000'],
      [(d) => (d.spec.ports[1].name = 'http'), 'spec.ports[1].name: duplicate port name "http" (also ports[0])'],
      [(d) => (d.spec.ports[1].port = 8080), 'spec.ports[1].port: duplicate port number 8080 (also ports[0])'],
      [
        (d) => (d.spec.ports[0].protocol = 'UDP'),
        'spec.ports[0].protocol: expected one of HTTP|HTTP2|GRPC|TCP, got "UDP"',
      ],
      [
        (d) => (d.spec.endpoints[0].address = 'orders.local'),
        'spec.endpoints[0].address: expected an IP address literal such as 10.0.0.7 or ::1, got "orders.local"',
      ],
      [(d) => (d.spec.endpoints[0].weight = 0), 'spec.endpoints[0].weight: expected an integer from 1 to 128, got 0'],
      [
        (d) => (d.spec.endpoints[0].weight = 1.5),
        'spec.endpoints[0].weight: expected an integer from 1 to 128, got 1.5',
      ],
      [
        (d) => (d.spec.endpoints[0].labels = { version: 2 }),
        'spec.endpoints[0].labels.version: expected a string, got 2',
      ],
    ];
    for (const [edit, message] of cases) {
      expect(errorsOf(service, edit)).to.deep.equal([`document 2 (Service orders): ${message}`]);
    }
  });

  it('checks route hosts, matches, destinations, durations and retries', () => {
    const cases: [(d: Loose) => void, string][] = [
      [(d) => (d.spec.hosts = []), 'spec.hosts: expected a non-empty list of host names, got a list'],
      [(d) => (d.spec.http[0].route[1].weight = -5), 'spec.http[0].route[1].weight: expected an integer >= 0, got -5'],
      [
        (d) => (d.spec.http[0].match[0].pathExact = '/x'),
        'spec.http[0].match[0]: expected at most one of pathPrefix|pathExact|pathRegex, got pathPrefix and pathExact',
      ],
      [
        (d) => (d.spec.http[0].match[0] = { pathRegex: '/api/(' }),
        'spec.http[0].match[0].pathRegex: expected an RE2 regular expression, got "/api/(": missing closing ): `/api/(`',
      ],
      [
        (d) => (d.spec.http[0].match[0].headers['x-canary'] = { exact: '1', prefix: '1' }),
        'spec.http[0].match[0].headers.x-canary: expected exactly one of exact|prefix|regex|present, got exact and prefix',
      ],
      [
        (d) => (d.spec.http[0].match[0].headers['x-canary'] = {}),
        'spec.http[0].match[0].headers.x-canary: expected exactly one of exact|prefix|regex|present, got none',
      ],
      [
        (d) => delete d.spec.http[0].route[0].service,
        'spec.http[0].route[0].service: required, expected a service name',
      ],
      [
        (d) => {
          d.spec.http[0].route[0].weight = 0;
          d.spec.http[0].route[1].weight = 0;
        },
        'spec.http[0].route: expected destination weights that sum to more than 0, got 0',
      ],
      [
        (d) => delete d.spec.http[0].route[1].weight,
        'spec.http[0].route[1].weight: required when another destination of the rule has a weight',
      ],
      [
        (d) => (d.spec.http[0].timeout = '2'),
        'spec.http[0].timeout: expected a duration such as "2s" or "500ms", got "2"',
      ],
      [
        (d) => (d.spec.http[0].retries.attempts = 11),
        'spec.http[0].retries.attempts: expected an integer from 0 to 10, got 11',
      ],
      [
        (d) => (d.spec.http[0].retries.retryOn = ['5xx', 'teapot']),
        'spec.http[0].retries.retryOn[1]: expected one of 5xx|gateway-error|reset|connect-failure|retriable-4xx|refused-stream|retriable-status-codes|cancelled|deadline-exceeded|internal|resource-exhausted|unavailable, got "teapot"',
      ],
      [
        (d) => (d.spec.http[0].retries.perTryTimeout = '0s'),
        'spec.http[0].retries.perTryTimeout: expected a duration > 0 such as "5s" or "500ms", got "0s"',
      ],
    ];
    for (const [edit, message] of cases) {
      const errors = errorsOf(route, edit);
      expect(errors, message).to.have.length(1);
      expect(errors[0]).to.satisfy((e: string) => e.startsWith(`document 2 (Route orders): ${message}`));
    }
  });

  it('allows destinations without weights (an equal split)', () => {
    const doc = route() as Loose;
    for (const d of doc.spec.http[0].route) delete d.weight;
    expect(validateResource(doc, 'document 1').errors).to.deep.equal([]);
  });

  it("rejects what RE2 refuses, with the field path and RE2's reason", () => {
    const cases: [(d: Loose) => void, string][] = [
      [
        (d) => (d.spec.http[0].match[0] = { pathRegex: '^/(?!admin)' }),
        'spec.http[0].match[0].pathRegex: expected an RE2 regular expression, got "^/(?!admin)": ' +
          'invalid or unsupported Perl syntax: `(?!` (lookahead is not supported by RE2)',
      ],
      [
        (d) => (d.spec.http[0].match[0].headers['x-canary'] = { regex: '(a)\\1' }),
        'spec.http[0].match[0].headers.x-canary.regex: expected an RE2 regular expression, got "(a)\\\\1": ' +
          'invalid escape sequence: `\\1` (backreferences are not supported by RE2)',
      ],
      [
        (d) => (d.spec.http[0].match[0] = { cookies: { session: { regex: 'x{1001}' } } }),
        'spec.http[0].match[0].cookies.session.regex: expected an RE2 regular expression, got "x{1001}": ' +
          'invalid repeat count: `{1001}`',
      ],
      [
        (d) => (d.spec.http[0].match[0] = { queryParams: { v: { regex: '[[:nope:]]' } } }),
        'spec.http[0].match[0].queryParams.v.regex: expected an RE2 regular expression, got "[[:nope:]]": ' +
          'invalid character class range: `[:nope:]`',
      ],
      [
        (d) => (d.spec.http[0].rewrite = { regex: { pattern: '^/v1/(.*)$', substitution: '/\\2' } }),
        'spec.http[0].rewrite.regex.substitution: expected an RE2 rewrite (\\1 to \\9 a group, \\0 the whole match, ' +
          '\\\\ a backslash), got "/\\\\2": \\2 refers to group 2 but the pattern has only 1',
      ],
      [
        (d) => (d.spec.http[0].rewrite = { regex: { pattern: '^/v1/(.*)$', substitution: '/\\n' } }),
        'spec.http[0].rewrite.regex.substitution: expected an RE2 rewrite (\\1 to \\9 a group, \\0 the whole match, ' +
          '\\\\ a backslash), got "/\\\\n": invalid rewrite: a backslash must be followed by a digit or a backslash, got \\n',
      ],
    ];
    for (const [edit, message] of cases) {
      const errors = errorsOf(route, edit);
      expect(errors, message).to.have.length(1);
      expect(errors[0]).to.satisfy((e: string) => e.startsWith(`document 2 (Route orders): ${message}`), errors[0]);
    }
  });

  it('accepts what RE2 accepts, including patterns a backtracking engine would take exponential time on', () => {
    const doc = route() as Loose;
    doc.spec.http[0].match[0] = {
      pathRegex: '^/(a|a)*$',
      headers: { 'x-id': { regex: '(?P<id>[[:alnum:]]+)-(x+x+)+y' } },
      cookies: { session: { regex: '\\Q.*\\E(a+)+' } },
    };
    doc.spec.http[0].rewrite = { regex: { pattern: '^/v(\\d)/(.*)$', substitution: '/\\2?v=\\1&all=\\0\\\\' } };
    expect(validateResource(doc, 'document 1').errors).to.deep.equal([]);
  });

  it('checks traffic policies', () => {
    const cases: [(d: Loose) => void, string][] = [
      [(d) => delete d.spec.service, 'spec.service: required, expected the name of a Service'],
      [(d) => (d.spec.subsets[1].name = 'v1'), 'spec.subsets[1].name: duplicate subset name "v1" (also subsets[0])'],
      [
        (d) => (d.spec.subsets[0].labels = {}),
        'spec.subsets[0].labels: expected a non-empty mapping of strings, got a mapping',
      ],
      [
        (d) => (d.spec.loadBalancer.algorithm = 'FASTEST'),
        'spec.loadBalancer.algorithm: expected one of ROUND_ROBIN|LEAST_REQUEST|RANDOM|RING_HASH|MAGLEV|LEAST_CONNECTIONS|LEAST_RESPONSE_TIME, got "FASTEST"',
      ],
      [
        (d) => (d.spec.loadBalancer.algorithm = 'ROUND_ROBIN'),
        'spec.loadBalancer.consistentHash: only allowed with algorithm RING_HASH or MAGLEV, got ROUND_ROBIN',
      ],
      [
        (d) => (d.spec.loadBalancer.consistentHash = { header: 'x', sourceIp: true }),
        'spec.loadBalancer.consistentHash: expected exactly one of header|cookie|sourceIp|queryParam, got header and sourceIp',
      ],
      [
        (d) => (d.spec.outlierDetection.maxEjectionPercent = 101),
        'spec.outlierDetection.maxEjectionPercent: expected an integer from 0 to 100, got 101',
      ],
      [
        (d) => (d.spec.outlierDetection.interval = 'soon'),
        'spec.outlierDetection.interval: expected a duration > 0 such as "5s" or "500ms", got "soon"',
      ],
      [
        (d) => (d.spec.connectionPool.maxConnections = 0),
        'spec.connectionPool.maxConnections: expected an integer from 1 to 4294967295, got 0',
      ],
    ];
    for (const [edit, message] of cases) {
      expect(errorsOf(policy, edit)).to.deep.equal([`document 2 (TrafficPolicy orders): ${message}`]);
    }
  });

  it('reports every error of a document, not just the first', () => {
    const errors = errorsOf(route, (d: Loose) => {
      d.spec.hosts = [];
      d.spec.http[0].route[0].weight = -1;
      d.spec.http[0].timeout = 5;
    });
    expect(errors).to.have.length(3);
  });
});
