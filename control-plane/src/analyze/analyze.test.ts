import { expect } from 'chai';
import { parseDocuments } from '../resources/parse.ts';
import type { Resource } from '../resources/types.ts';
import { validateBatch } from '../resources/validate/batch.ts';
import { analyze, CHECKS, type Finding } from './analyze.ts';

/** Resources from YAML, parsed and validated as apply does. */
function resources(yaml: string): Resource[] {
  const parsed = parseDocuments(yaml);
  const batch = validateBatch(parsed.documents.map((d) => ({ where: `document ${d.index}`, value: d.value })));
  expect([...parsed.errors, ...batch.errors]).to.deep.equal([]);
  return batch.resources;
}

const codes = (findings: Finding[]): string[] => findings.map((f) => f.code);

const SERVICES = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: orders }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  endpoints:
    - { address: 10.0.0.1, port: 8080, labels: { version: v1 } }
    - { address: 10.0.0.2, port: 8080, labels: { version: v2 } }
---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: orders }
spec:
  service: orders
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

const route = (rules: string): string => `---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: orders }
spec:
  hosts: [orders]
  http:
${rules}`;

describe('analyze (trellisctl analyze)', () => {
  it('finds nothing in a consistent mesh', () => {
    const all = resources(
      SERVICES +
        route(`    - match: [{ pathPrefix: /api/ }]
      route: [{ service: orders, subset: v2 }]
      timeout: 10s
      retries: { attempts: 2, perTryTimeout: 2s }
    - route: [{ service: orders, subset: v1 }]
`),
    );
    expect(analyze(all)).to.deep.equal([]);
  });

  it('TA001: a route to a subset that does not exist (an error)', () => {
    const all = resources(SERVICES + route('    - route: [{ service: orders, subset: v3 }]\n'));
    const [f] = analyze(all);
    expect(f).to.include({ code: 'TA001', severity: 'error' });
    expect(f?.resources).to.deep.equal(['Route/orders']);
    expect(f?.message).to.contain('subset "v3"');
  });

  it('TA002: a rule after a catch-all, or after a rule with the same matches, can never match', () => {
    const shadowedByCatchAll = resources(
      SERVICES +
        route(`    - match: [{ pathPrefix: / }]
      route: [{ service: orders, subset: v1 }]
    - name: canary
      match: [{ headers: { x-canary: { exact: "1" } } }]
      route: [{ service: orders, subset: v2 }]
`),
    );
    const [f] = analyze(shadowedByCatchAll);
    expect(f).to.include({ code: 'TA002', severity: 'warning' });
    expect(f?.message).to.equal(
      'spec.http[1] (canary) can never match: spec.http[0] matches every request and comes first',
    );
    const duplicate = resources(
      SERVICES +
        route(`    - match: [{ pathPrefix: /api/, headers: { x-user: { present: true } } }]
      route: [{ service: orders, subset: v1 }]
    - match: [{ headers: { x-user: { present: true } }, pathPrefix: /api/ }]
      route: [{ service: orders, subset: v2 }]
    - route: [{ service: orders }]
`),
    );
    expect(analyze(duplicate).map((x) => x.message)).to.deep.equal([
      'spec.http[1] can never match: spec.http[0] has the same matches and comes first',
    ]);
    // Narrower rules first, the catch-all last: fine.
    const ordered = resources(
      SERVICES +
        route(`    - match: [{ pathPrefix: /api/ }]
      route: [{ service: orders, subset: v2 }]
    - route: [{ service: orders, subset: v1 }]
`),
    );
    expect(codes(analyze(ordered))).to.deep.equal([]);
  });

  it('TA003: a timeout shorter than the tries its retries allow', () => {
    const cut = resources(
      SERVICES +
        route(`    - route: [{ service: orders }]
      timeout: 2s
      retries: { attempts: 3, perTryTimeout: 1s }
`),
    );
    const [f] = analyze(cut);
    expect(f).to.include({ code: 'TA003', severity: 'warning' });
    expect(f?.message).to.contain('timeout 2s is shorter than 4 tries × perTryTimeout 1s');
    expect(f?.hint).to.contain('at least 4s');
    const enough = resources(
      SERVICES +
        route(`    - route: [{ service: orders }]
      timeout: 4s
      retries: { attempts: 3, perTryTimeout: 1s }
`),
    );
    expect(codes(analyze(enough))).to.deep.equal([]);
  });

  it('TA004: a policy whose selector names no Service', () => {
    const policy = (service: string) => `---
apiVersion: trellis.dev/v1
kind: AuthorizationPolicy
metadata: { name: deny-all }
spec:
  selector: { service: ${service} }
  action: DENY
  rules: [{ to: [{ operation: { paths: [/admin] } }] }]
`;
    const [f] = analyze(resources(SERVICES + policy('ordres')));
    expect(f).to.include({ code: 'TA004', severity: 'warning' });
    expect(f?.resources).to.deep.equal(['AuthorizationPolicy/deny-all']);
    expect(codes(analyze(resources(SERVICES + policy('orders'))))).to.deep.equal([]);
  });

  it("TA005: a subset whose labels match none of the service's static endpoints", () => {
    const all = resources(
      SERVICES.replace('{ name: v2, labels: { version: v2 } }', '{ name: v2, labels: { version: v9 } }'),
    );
    const [f] = analyze(all);
    expect(f).to.include({ code: 'TA005', severity: 'warning' });
    expect(f?.resources).to.deep.equal(['TrafficPolicy/orders', 'Service/orders']);
    expect(f?.message).to.contain('subset "v2" (version=v9)');
    // Without static endpoints the sidecars announce them (with their labels) at run time: nothing to say.
    const dynamic = resources(SERVICES.replace(/ {2}endpoints:\n(?: {4}- .*\n)+/, ''));
    expect(codes(analyze(dynamic))).to.deep.equal([]);
  });

  it('TA006: a Route for a service port after (by name) one whose rule matches every request', () => {
    const named = (name: string, rules: string, hosts = '[orders]') => `---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: ${name} }
spec:
  hosts: ${hosts}
  http:
${rules}`;
    const catchAll = '    - route: [{ service: orders, subset: v1 }]\n';
    const canary =
      '    - match: [{ headers: { x-canary: { exact: "1" } } }]\n      route: [{ service: orders, subset: v2 }]\n';
    const [f] = analyze(resources(SERVICES + named('a-default', catchAll) + named('b-canary', canary)));
    expect(f).to.include({ code: 'TA006', severity: 'warning' });
    expect(f?.resources).to.deep.equal(['Route/b-canary', 'Route/a-default']);
    expect(f?.message).to.equal(
      'its rules for service orders port 8080 can never match: Route a-default comes first (Routes for one service port are joined in name order) and its spec.http[0] matches every request',
    );
    // The narrow Route first by name: both take effect.
    expect(
      codes(analyze(resources(SERVICES + named('a-canary', canary) + named('b-default', catchAll)))),
    ).to.deep.equal([]);
    // Another port of the service, or a gateway-only Route: not the same virtual host.
    expect(
      codes(analyze(resources(SERVICES + named('a-default', catchAll, '["orders:9090"]') + named('b-canary', canary)))),
    ).to.deep.equal([]);
  });

  it('TA007 (with the connected proxies): STRICT mTLS for a service a plaintext-only proxyless client calls', () => {
    const strict = (selector: string) => `---
apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: strict }
spec:
  ${selector}
  mtls: { mode: STRICT }
`;
    const proxies = [
      { nodeId: 'grpc-2', clientKind: 'proxyless', identity: '', listeners: ['orders.shop.svc:8080'] },
      { nodeId: 'grpc-1', clientKind: 'proxyless', identity: '', listeners: ['orders:8080', 'other:1'] },
      // With a certificate (behind trellis-agent --xds-proxy), or a sidecar: mTLS works for them.
      {
        nodeId: 'grpc-3',
        clientKind: 'proxyless',
        identity: 'spiffe://cluster.local/ns/default/sa/grpc',
        listeners: ['orders:8080'],
      },
      { nodeId: 'web-1', clientKind: 'sidecar', identity: '', listeners: ['outbound'] },
    ];
    const [f] = analyze(resources(SERVICES + strict('selector: { service: orders }')), proxies);
    expect(f).to.include({ code: 'TA007', severity: 'warning' });
    expect(f?.message).to.contain('2 connected plaintext-only client(s) call it: grpc-1, grpc-2;');
    // Mesh-wide STRICT counts too; a service's own PERMISSIVE overrides it; no such client: nothing.
    expect(codes(analyze(resources(SERVICES + strict('')), proxies))).to.deep.equal(['TA007']);
    const permissive = `---
apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: orders }
spec:
  selector: { service: orders }
  mtls: { mode: PERMISSIVE }
`;
    expect(codes(analyze(resources(SERVICES + strict('') + permissive), proxies))).to.deep.equal([]);
    expect(
      codes(analyze(resources(SERVICES + strict('selector: { service: orders }')), proxies.slice(2))),
    ).to.deep.equal([]);
  });

  it('TA008: what the translator leaves out for a kind of client (its own warnings), live: for the kinds connected', () => {
    const all = resources(
      SERVICES +
        route(`    - match: [{ pathPrefix: /api/, methods: [GET] }]
      route: [{ service: orders, subset: v1 }]
    - route: [{ service: orders }]
`),
    );
    const [f] = analyze(all);
    expect(f).to.include({ code: 'TA008', severity: 'warning' });
    expect(f?.resources).to.deep.equal(['Route/orders']);
    expect(f?.message).to.equal(
      'for proxyless gRPC clients: Route orders/0: match[0]: gRPC requests are always POST; left out for proxyless clients',
    );
    // Only sidecars connected: nothing left out for them.
    const sidecar = { nodeId: 'web-1', clientKind: 'sidecar', identity: '', listeners: [] };
    expect(codes(analyze(all, [sidecar]))).to.deep.equal([]);
  });

  it('documents every code it can report', () => {
    expect(Object.keys(CHECKS)).to.deep.equal(['TA001', 'TA002', 'TA003', 'TA004', 'TA005', 'TA006', 'TA007', 'TA008']);
  });
});
