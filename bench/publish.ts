// Publish-round micro-benchmark: translate + Snapshot.fromObjects for 50 sidecar groups plus proxyless and Envoy.
// Usage: node bench/publish.ts [--rounds 20] [--services 50] [--endpoints 20] (endpoints per service)
// Add `--cpu-prof --cpu-prof-dir=DIR` before the script for a V8 CPU profile. Each round follows one change, in turn
// a route weight, an endpoint join and nothing (a registry event that changes no resource), as the control plane
// publishes every watched group after every apply or registry change.
import { parseArgs } from 'node:util';
import { parseNodeGroup } from '@trellis/node-contract';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import type { Endpoint } from '../control-plane/src/registry/endpoint.ts';
import type { RouteResource } from '../control-plane/src/resources/types.ts';
import { endpoint, mesh, policy, route, service } from '../control-plane/src/translator/fixtures.ts';
import type { MeshState } from '../control-plane/src/translator/mesh-state.ts';
import { translateWithWarnings } from '../control-plane/src/translator/translate.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    services: { type: 'string', default: '50' },
    endpoints: { type: 'string', default: '20' },
  },
});
const ROUNDS = Number(values.rounds);
const SERVICES = Number(values.services);
const PER_SERVICE = Number(values.endpoints);

const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(2, '0')}`);

function routeOf(name: string, weight: number): RouteResource {
  return route(name, {
    hosts: [name, `${name}.mesh.svc`],
    http: [
      {
        match: [{ pathPrefix: '/api', headers: { 'x-canary': { exact: '1' } } }],
        route: [
          { service: name, subset: 'v2', weight },
          { service: name, subset: 'v1', weight: 100 - weight },
        ],
        timeout: '2s',
        retries: { attempts: 3, perTryTimeout: '500ms', retryOn: ['5xx', 'connect-failure'] },
      },
      { match: [{ pathPrefix: '/' }], route: [{ service: name }] },
    ],
  });
}

function endpointsOf(i: number, extra: number): Endpoint[] {
  return Array.from({ length: PER_SERVICE + extra }, (_, j) =>
    endpoint(names[i] as string, `10.${i}.${j >> 8}.${j & 255}`, 8080, {
      labels: { version: j % 2 === 0 ? 'v1' : 'v2' },
      zone: `zone-${j % 3}`,
    }),
  );
}

let routes = names.map((n) => routeOf(n, 10));
const base = mesh({
  services: names.map((n) =>
    service(n, {
      ports: [
        { name: 'http', port: 8080, protocol: 'HTTP' },
        { name: 'grpc', port: 9090, protocol: 'GRPC' },
      ],
    }),
  ),
  policies: names.map((n) =>
    policy(n, {
      service: n,
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      loadBalancer: { algorithm: 'LEAST_REQUEST' },
      outlierDetection: { consecutive5xx: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      connectionPool: { connectTimeout: '1500ms', maxConnections: 100, maxRequests: 1000 },
    }),
  ),
});
const endpoints = new Map<string, Endpoint[]>(names.map((n, i) => [n, endpointsOf(i, 0)]));

/** What control-plane.ts `state()` gives each publish: fresh lists every time. */
function state(): MeshState {
  return {
    services: [...base.services],
    routes: [...routes],
    policies: [...base.policies],
    telemetry: [],
    endpoints: new Map(endpoints),
  };
}

const groups = [
  'proxyless',
  'envoy',
  ...names.map(
    (n) =>
      `sidecar:${JSON.stringify({ service: n, appPort: 3000, inboundAddress: '0.0.0.0', inboundPort: 15006, outboundPort: 15001, tcpUpstreams: [] })}`,
  ),
];

let version = 0;
let resources = 0;
/** CPU time (user + system) of the last round, ms: steadier than wall time on a shared machine. */
let cpuMs = 0;
function publishRound(): number {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  resources = 0;
  for (const group of groups) {
    const parsed = parseNodeGroup(group);
    if (!parsed) throw new Error(`bad group ${group}`);
    const { resources: out } = translateWithWarnings(state(), parsed.client, parsed.sidecar);
    const snap = Snapshot.fromObjects(String(++version), out);
    for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const) resources += snap.resources(type).size;
  }
  const cpu = process.cpuUsage(cpuStarted);
  cpuMs = (cpu.user + cpu.system) / 1000;
  return performance.now() - started;
}

const CHANGES = ['route weight', 'endpoint join', 'no-op'] as const;
function change(round: number): (typeof CHANGES)[number] {
  const kind = CHANGES[round % CHANGES.length] as (typeof CHANGES)[number];
  const i = round % SERVICES;
  if (kind === 'route weight') routes = routes.map((r, j) => (j === i ? routeOf(names[i] as string, round % 90) : r));
  if (kind === 'endpoint join') endpoints.set(names[i] as string, endpointsOf(i, 1 + (round % 5)));
  return kind;
}

const cold = publishRound();
const total = [...endpoints.values()].reduce((n, eps) => n + eps.length, 0);
console.log(
  `${SERVICES} services, ${total} endpoints, ${groups.length} groups, ${resources} resources per round (all groups)`,
);
console.log(
  `cold round: ${cold.toFixed(1)} ms (${(cold / groups.length).toFixed(2)} ms per group); CPU ${cpuMs.toFixed(1)} ms`,
);
const byKind = new Map<string, number[]>();
const cpuByKind = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  const kind = change(r);
  const ms = publishRound();
  byKind.set(kind, [...(byKind.get(kind) ?? []), ms]);
  cpuByKind.set(kind, [...(cpuByKind.get(kind) ?? []), cpuMs]);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
for (const [kind, xs] of byKind) {
  const m = median(xs);
  const c = median(cpuByKind.get(kind) ?? []);
  console.log(
    `after ${kind.padEnd(13)}: ${m.toFixed(1)} ms per round (median of ${xs.length}), ${(m / groups.length).toFixed(2)} ms per group; CPU ${c.toFixed(1)} ms per round`,
  );
}
// The shared encoding cache's figures (absent before it existed: the bench also runs on older checkouts).
const snapshotModule: Record<string, unknown> = await import('../control-plane/src/cache/snapshot.ts');
const shared = snapshotModule['sharedEncodings'] as { stats(): Record<string, number> } | undefined;
if (shared) {
  const s = shared.stats();
  console.log(
    `encoding cache: ${s['entries']} entries, ${((s['bytes'] ?? 0) / 1048576).toFixed(1)} MiB, ${s['hits']} hits, ${s['misses']} misses`,
  );
}
