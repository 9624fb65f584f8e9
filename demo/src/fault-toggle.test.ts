// The [f] key's Route edit: fault on every rule of the Route as it is, and off again, nothing else changed.
import { expect } from 'chai';
import YAML from 'yaml';
import { DEMO_FAULT, withFault } from './fault-toggle.ts';

const ROUTE = `apiVersion: trellis.dev/v1
kind: Route
metadata:
  name: orders
  generation: 3
spec:
  hosts: [orders]
  http:
    - match: [{ pathPrefix: /admin }]
      route: [{ service: orders, subset: v1 }]
    - route:
        - { service: orders, subset: v1, weight: 50 }
        - { service: orders, subset: v2, weight: 50 }
      timeout: 3s
`;

describe('demo fault toggle', () => {
  it('adds the fault to every rule and removes it again, leaving the split as the user set it', () => {
    const on = YAML.parse(withFault(ROUTE, DEMO_FAULT)) as { spec: { http: Record<string, unknown>[] } };
    expect(on.spec.http.map((r) => r['fault'])).to.deep.equal([DEMO_FAULT, DEMO_FAULT]);
    expect(on.spec.http[1]?.['route']).to.deep.equal([
      { service: 'orders', subset: 'v1', weight: 50 },
      { service: 'orders', subset: 'v2', weight: 50 },
    ]);
    const off = YAML.parse(withFault(YAML.stringify(on), undefined));
    expect(off).to.deep.equal(YAML.parse(ROUTE));
  });
});
