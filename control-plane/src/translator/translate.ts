// The translator: operator resources plus endpoints in, Envoy v3 resources for one kind of client out. Pure.
import type { ClientKind, ProxylessParams, SidecarParams } from '@trellis/node-contract';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import { buildClusters } from './clusters.ts';
import { buildLoadAssignments } from './endpoints.ts';
import { buildListeners } from './listeners.ts';
import { memoizedResources } from './memo.ts';
import { type ClusterKey, indexMesh } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { type MeshIdentity, trustBundleSecret, withMeshTls } from './mesh-tls.ts';
import { byString } from './names.ts';
import { proxylessMtlsCluster } from './proxyless-tls.ts';
import { buildRouteConfigurations } from './routes.ts';
import { SOCKET_RESOURCES } from './socket-resources.ts';

/** Resources plus what could not be translated as written (unknown destinations, matches a client cannot express). */
export interface Translation {
  resources: TranslatedResources;
  warnings: string[];
}

function byName(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return byString(String(a['name']), String(b['name']));
}

/**
 * Translates and reports problems; output is deterministic (every list sorted by resource name). `sidecar`
 * (a Trellis sidecar's listener parameters) adds its socket listeners and what they use.
 */
export function translateWithWarnings(
  state: MeshState,
  client: ClientKind,
  sidecar?: SidecarParams,
  proxyless?: ProxylessParams,
): Translation {
  const warnings = new Set<string>();
  const warn = (m: string): void => {
    warnings.add(m);
  };
  const index = indexMesh(state);
  const socket = SOCKET_RESOURCES[client](index, state, sidecar, warn, proxyless);
  const identity = client === 'sidecar' && sidecar?.mtls === true ? state.identity : undefined;
  let clusters = memoizedResources(`clusters:${client}`, state, (w) => buildClusters(index, client, w), warn);
  if (identity !== undefined) clusters = clusters.map((c, i) => meshTlsCluster(c, index.clusters[i], identity));
  // A proxyless client with the mesh's certificate provider: mTLS to STRICT services (gRFC A29).
  const trust = state.identity;
  if (client === 'proxyless' && proxyless?.mtls === true && trust !== undefined)
    clusters = clusters.map((c, i) => {
      const key = index.clusters[i];
      if (key === undefined || key.name !== c['name'] || index.mtlsModeOf(key.service) !== 'strict') return c;
      return proxylessMtlsCluster(c, key.service, trust.trustDomain);
    });
  const resources: TranslatedResources = {
    cluster: [...clusters, ...socket.clusters].sort(byName),
    endpoint: buildLoadAssignments(index, state),
    listener: buildListeners(index, socket.listeners, state.routes),
    route: [
      ...memoizedResources(`routes:${client}`, state, (w) => buildRouteConfigurations(index, state, client, w), warn),
      ...socket.routes,
    ].sort(byName),
    secret: identity === undefined ? [] : [trustBundleSecret(identity)],
  };
  return { resources, warnings: [...warnings] };
}

/** A service cluster of a sidecar that holds a certificate: mTLS to the endpoints whose proxies hold one too. */
function meshTlsCluster(
  cluster: Record<string, unknown>,
  key: ClusterKey | undefined,
  identity: MeshIdentity,
): Record<string, unknown> {
  if (key === undefined || key.name !== cluster['name']) return cluster;
  return withMeshTls(cluster, key.service, key.port.protocol, identity);
}

/** Envoy v3 resources for one client kind (and a sidecar's listener parameters, or a proxyless node's). */
export function translate(
  state: MeshState,
  client: ClientKind,
  sidecar?: SidecarParams,
  proxyless?: ProxylessParams,
): TranslatedResources {
  return translateWithWarnings(state, client, sidecar, proxyless).resources;
}
