// Lookups the translator's builders share, computed once per translation: services, policies, and every cluster.
import type {
  AuthorizationPolicyResource,
  MtlsMode,
  RequestAuthenticationResource,
  ServicePort,
  ServiceResource,
  Subset,
  TrafficPolicySpec,
} from '../resources/types.ts';
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
  /**
   * How a service's sidecars (those holding a workload certificate) take inbound connections: the service's
   * PeerAuthentication, else the mesh-wide one, else the control plane's --mtls; undefined: plaintext only (DISABLE,
   * or mTLS off).
   */
  mtlsModeOf(service: string): 'strict' | 'permissive' | undefined;
  /** Every AuthorizationPolicy (the translator picks those of a service). */
  authorizationPolicies: readonly AuthorizationPolicyResource[];
  /** Every RequestAuthentication, and the JWKS fetched for their jwksUri. */
  requestAuthentications: readonly RequestAuthenticationResource[];
  jwks: ReadonlyMap<string, string>;
}

/** The mTLS mode of a service from its PeerAuthentication, the mesh-wide one, and the default. */
function mtlsModes(state: MeshState): (service: string) => 'strict' | 'permissive' | undefined {
  const identity = state.identity;
  if (identity === undefined) return () => undefined;
  let mesh: MtlsMode | undefined;
  const byService = new Map<string, MtlsMode>();
  for (const pa of [...(state.peerAuthentications ?? [])].sort((a, b) => byString(a.metadata.name, b.metadata.name))) {
    const service = pa.spec.selector?.service;
    if (service === undefined) mesh ??= pa.spec.mtls.mode;
    else if (!byService.has(service)) byService.set(service, pa.spec.mtls.mode);
  }
  return (service) => {
    const mode = byService.get(service) ?? mesh;
    if (mode === undefined) return identity.mode;
    return mode === 'DISABLE' ? undefined : mode === 'STRICT' ? 'strict' : 'permissive';
  };
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
    mtlsModeOf: mtlsModes(state),
    authorizationPolicies: state.authorizationPolicies ?? [],
    requestAuthentications: state.requestAuthentications ?? [],
    jwks: state.jwks ?? new Map(),
  };
}
