// Lookups the translator's builders share, computed once per translation: services, policies, and every cluster.
import type { ServicePort, ServiceResource, Subset, TrafficPolicySpec } from '../resources/types.ts';
import { meshUsesCors } from './cors.ts';
import { meshUsesFaults } from './fault.ts';
import type { MeshState } from './mesh-state.ts';
import { byString, clusterName } from './names.ts';
import { type EffectiveTelemetry, effectiveTelemetry } from './telemetry.ts';

/** One cluster the mesh has: a service port, or a subset of it. */
export interface ClusterKey {
  name: string;
  service: string;
  port: ServicePort;
  subset?: Subset;
}

export interface MeshIndex {
  /** Services sorted by name. */
  services: readonly ServiceResource[];
  serviceByName: ReadonlyMap<string, ServiceResource>;
  /** The TrafficPolicy of a service (the first by name when several target it). */
  policyOf(service: string): TrafficPolicySpec | undefined;
  /** Every cluster, sorted by name. */
  clusters: readonly ClusterKey[];
  clusterNames: ReadonlySet<string>;
  /** The Telemetry in effect for a sidecar fronting `service` (mesh-wide, overridden per part by the service's). */
  telemetryOf(service: string | undefined): EffectiveTelemetry | undefined;
  /** Some Route rule injects faults: client-side connection managers carry the fault filter. */
  faults: boolean;
  /** Some Route rule sets a CORS policy: sidecars' outbound connection managers carry the CORS filter. */
  cors: boolean;
}

export function indexMesh(state: MeshState): MeshIndex {
  const services = [...state.services].sort((a, b) => byString(a.metadata.name, b.metadata.name));
  const serviceByName = new Map(services.map((s) => [s.metadata.name, s]));
  const policies = new Map<string, TrafficPolicySpec>();
  for (const p of [...state.policies].sort((a, b) => byString(a.metadata.name, b.metadata.name))) {
    if (!policies.has(p.spec.service)) policies.set(p.spec.service, p.spec);
  }
  const byName = new Map<string, ClusterKey>();
  const add = (key: ClusterKey): void => {
    if (!byName.has(key.name)) byName.set(key.name, key);
  };
  for (const svc of services) {
    const service = svc.metadata.name;
    const subsets = policies.get(service)?.subsets ?? [];
    for (const port of svc.spec.ports) {
      add({ name: clusterName(service, port.port), service, port });
      for (const subset of subsets) add({ name: clusterName(service, port.port, subset.name), service, port, subset });
    }
  }
  const clusters = [...byName.values()].sort((a, b) => byString(a.name, b.name));
  return {
    services,
    serviceByName,
    policyOf: (service) => policies.get(service),
    clusters,
    clusterNames: new Set(byName.keys()),
    telemetryOf: (service) => effectiveTelemetry(state.telemetry ?? [], service),
    faults: meshUsesFaults(state.routes),
    cors: meshUsesCors(state.routes),
  };
}
