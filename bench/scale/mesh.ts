// The benchmark mesh: S services (Service + Route + TrafficPolicy each, two subsets) and the route weight change.
import { type ResourceMessage, resourceToMessage } from '../../control-plane/src/api/messages.ts';
import type { Resource } from '../../control-plane/src/resources/types.ts';

export const SERVICE_PORT = 8080;

export function serviceName(i: number): string {
  return `svc${i}`;
}

/** Service, Route (v1/v2 weights) and TrafficPolicy of service i. */
function serviceResources(i: number, v2Weight: number): unknown[] {
  const name = serviceName(i);
  return [
    {
      apiVersion: 'trellis.dev/v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ name: 'http', port: SERVICE_PORT, protocol: 'HTTP' }] },
    },
    routeResource(i, v2Weight),
    {
      apiVersion: 'trellis.dev/v1',
      kind: 'TrafficPolicy',
      metadata: { name },
      spec: {
        service: name,
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
        loadBalancer: { algorithm: 'ROUND_ROBIN' },
        outlierDetection: { consecutive5xx: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    },
  ];
}

function routeResource(i: number, v2Weight: number): unknown {
  const name = serviceName(i);
  return {
    apiVersion: 'trellis.dev/v1',
    kind: 'Route',
    metadata: { name },
    spec: {
      hosts: [name],
      http: [
        {
          match: [{ pathPrefix: '/api' }],
          route: [
            { service: name, subset: 'v2', weight: v2Weight },
            { service: name, subset: 'v1', weight: 100 - v2Weight },
          ],
          timeout: '2s',
          retries: { attempts: 3, perTryTimeout: '500ms', retryOn: ['5xx', 'connect-failure', 'reset'] },
        },
      ],
    },
  };
}

/** Every resource of a mesh of `services` services, as operator API messages. */
export function meshResources(services: number): ResourceMessage[] {
  const out: ResourceMessage[] = [];
  for (let i = 0; i < services; i++) {
    for (const r of serviceResources(i, 10)) out.push(resourceToMessage(r as Resource));
  }
  return out;
}

/** The Route of service i with a new v2 weight (1–99). */
export function routeWeightChange(i: number, v2Weight: number): ResourceMessage {
  return resourceToMessage(routeResource(i, v2Weight) as Resource);
}
