// checkReferences: dangling services, ports and subsets, duplicate policies, and deletes of referenced resources.
import { expect } from 'chai';
import { checkReferences, newReferenceErrors } from './references.ts';
import type { Resource, RouteResource, ServiceResource, TrafficPolicyResource } from './types.ts';

const svc = (name: string, ports = [8080]): ServiceResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: ports.map((port, i) => ({ name: `p${i}`, port, protocol: 'HTTP' as const })) },
});

const route = (name: string, dest: NonNullable<RouteResource['spec']['http'][number]['route']>): RouteResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Route',
  metadata: { name },
  spec: { hosts: [name], http: [{ route: dest }] },
});

const tp = (name: string, service: string, subsets = ['v1']): TrafficPolicyResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'TrafficPolicy',
  metadata: { name },
  spec: { service, subsets: subsets.map((s) => ({ name: s, labels: { version: s } })) },
});

describe('checkReferences', () => {
  it('accepts a consistent state', () => {
    const all: Resource[] = [
      svc('orders'),
      tp('orders', 'orders'),
      route('orders', [{ service: 'orders', port: 8080, subset: 'v1' }]),
    ];
    expect(checkReferences(all)).to.deep.equal([]);
  });

  it('names the route and field of a missing service', () => {
    expect(checkReferences([svc('orders'), route('orders', [{ service: 'paymnts' }])])).to.deep.equal([
      'Route orders: spec.http[0].route[0].service: service "paymnts" does not exist',
    ]);
  });

  it('checks destination ports and subsets', () => {
    const errors = checkReferences([
      svc('orders', [8080, 9090]),
      svc('pay'),
      tp('orders', 'orders', ['v1']),
      route('orders', [
        { service: 'orders', port: 81 },
        { service: 'orders', subset: 'v2' },
        { service: 'pay', subset: 'v1' },
      ]),
    ]);
    expect(errors).to.deep.equal([
      'Route orders: spec.http[0].route[0].port: service "orders" has no port 81 (its ports: 8080, 9090)',
      'Route orders: spec.http[0].route[1].subset: subset "v2" is not defined by TrafficPolicy orders for service "orders"',
      'Route orders: spec.http[0].route[2].subset: subset "v1" is not defined: service "pay" has no TrafficPolicy',
    ]);
  });

  it('requires a policy service to exist and allows one policy per service', () => {
    expect(checkReferences([svc('orders'), tp('a', 'orders'), tp('b', 'orders'), tp('c', 'nope')])).to.deep.equal([
      'TrafficPolicy b: spec.service: service "orders" already has TrafficPolicy a (at most one per service)',
      'TrafficPolicy c: spec.service: service "nope" does not exist',
    ]);
  });

  it('explains that a referenced service cannot be deleted, and reports only new errors', () => {
    const before: Resource[] = [
      svc('orders'),
      route('orders', [{ service: 'orders' }]),
      route('old', [{ service: 'gone' }]),
    ];
    const after = before.filter((r) => r.kind !== 'Service');
    expect(newReferenceErrors(before, after, [{ kind: 'Service', name: 'orders' }])).to.deep.equal([
      'Route orders: spec.http[0].route[0].service: service "orders" would be deleted but is still referenced here',
    ]);
  });
});

describe('checkReferences: Telemetry scopes', () => {
  const tel = (name: string, service?: string): Resource => ({
    apiVersion: 'trellis.dev/v1',
    kind: 'Telemetry',
    metadata: { name },
    spec: { ...(service === undefined ? {} : { selector: { service } }), tracing: { samplingPercent: 1 } },
  });

  it('allows one mesh-wide Telemetry and one per service, even for a service not defined yet', () => {
    expect(checkReferences([svc('orders'), tel('mesh'), tel('orders', 'orders'), tel('later', 'later')])).to.deep.equal(
      [],
    );
  });

  it('rejects a second Telemetry for the same scope, naming both', () => {
    expect(checkReferences([tel('a'), tel('b'), tel('c', 'orders'), tel('d', 'orders')])).to.deep.equal([
      'Telemetry b: spec.selector: the mesh already has Telemetry a (at most one per scope)',
      'Telemetry d: spec.selector.service: service "orders" already has Telemetry c (at most one per scope)',
    ]);
  });
});
