// ClusterLoadAssignments: each cluster's endpoints grouped into weighted localities by zone.
import { isIP } from 'node:net';
import { sealed } from '../cache/encoding-cache.ts';
import type { Endpoint } from '../registry/endpoint.ts';
import { translationCaching } from './memo.ts';
import type { ClusterKey, MeshIndex } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { byString } from './names.ts';
import { struct, u32 } from './proto-values.ts';

/** Whether an endpoint carries every label of the subset (a port cluster, with no subset, takes them all). */
export function matchesSubset(ep: Endpoint, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!labels) return true;
  return Object.entries(labels).every(([k, v]) => ep.labels[k] === v);
}

/** Endpoint weight as Envoy accepts it: an integer of at least 1. */
function weightOf(ep: Endpoint): number {
  return Number.isFinite(ep.weight) ? Math.max(1, Math.round(ep.weight)) : 1;
}

/**
 * The endpoints a cluster gets, deduplicated by address:port and sorted. EDS endpoints must be IP literals
 * (gRPC rejects the whole assignment otherwise, Envoy does not resolve names there), so others are left out.
 */
export function clusterEndpoints(key: ClusterKey, all: readonly Endpoint[]): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const ep of all) {
    if (isIP(ep.address) === 0 || !matchesSubset(ep, key.subset?.labels)) continue;
    const id = `${ep.address}:${ep.port}`;
    if (!seen.has(id)) seen.set(id, ep);
  }
  return [...seen.entries()].sort(([a], [b]) => byString(a, b)).map(([, ep]) => ep);
}

/** Endpoint metadata a cluster's transport_socket_matches reads (Envoy's envoy.transport_socket_match). */
export const TLS_MODE_MATCH = { filter: 'envoy.transport_socket_match', key: 'tlsMode', value: 'mesh' } as const;

/**
 * Which endpoints of a service take mesh mTLS: those whose proxy announced a certificate (PERMISSIVE), every one
 * (STRICT: a caller never sends such a service plaintext, whatever an endpoint announced), or none (off, DISABLE).
 */
export type TlsMarking = 'announced' | 'all' | 'none';

function lbEndpoint(ep: Endpoint, marking: TlsMarking): Record<string, unknown> {
  const lb: Record<string, unknown> = {
    endpoint: { address: { socket_address: { address: ep.address, port_value: ep.port } } },
    load_balancing_weight: u32(weightOf(ep)),
    health_status: 'HEALTHY',
  };
  // An endpoint whose proxy holds a mesh certificate: callers with one connect to it over mTLS.
  if (marking === 'all' || (marking === 'announced' && ep.tls === true))
    lb['metadata'] = {
      filter_metadata: { [TLS_MODE_MATCH.filter]: struct({ [TLS_MODE_MATCH.key]: TLS_MODE_MATCH.value }) },
    };
  return lb;
}

/** The ClusterLoadAssignment of one cluster: one locality per zone, each weighted by the sum of its endpoints. */
export function buildLoadAssignment(
  key: ClusterKey,
  all: readonly Endpoint[],
  marking: TlsMarking = 'announced',
): Record<string, unknown> {
  const byZone = new Map<string, Endpoint[]>();
  for (const ep of clusterEndpoints(key, all)) {
    const list = byZone.get(ep.zone) ?? [];
    list.push(ep);
    byZone.set(ep.zone, list);
  }
  const localities = [...byZone.entries()]
    .sort(([a], [b]) => byString(a, b))
    .map(([zone, eps]) => ({
      locality: { region: '', zone, sub_zone: '' },
      lb_endpoints: eps.map((ep) => lbEndpoint(ep, marking)),
      // gRPC silently drops a locality without a weight.
      load_balancing_weight: u32(
        Math.max(
          1,
          eps.reduce((sum, ep) => sum + weightOf(ep), 0),
        ),
      ),
    }));
  return { cluster_name: key.name, endpoints: localities };
}

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

/**
 * Assignments already built, by the endpoint list they came from (the registry hands out the same list until its
 * service's endpoints change) and the cluster's name and subset labels, their only other inputs. Entries go with
 * their list; the assignments are sealed (deep-frozen), so every group and round shares one object and its encoding.
 */
const assignments = new WeakMap<readonly Endpoint[], Map<string, Record<string, unknown>>>();

/** buildLoadAssignment through the per-list cache. */
function cachedLoadAssignment(key: ClusterKey, all: readonly Endpoint[], marking: TlsMarking): Record<string, unknown> {
  if (!translationCaching.enabled) return buildLoadAssignment(key, all, marking);
  let byCluster = assignments.get(all);
  // Bounded while a list lives on: clusters renamed by policy changes would otherwise pile up.
  if (!byCluster || byCluster.size >= 4096) {
    byCluster = new Map();
    assignments.set(all, byCluster);
  }
  const id = `${key.subset ? `${key.name}\n${JSON.stringify(key.subset.labels)}` : key.name}\n${marking}`;
  let assignment = byCluster.get(id);
  if (!assignment) {
    assignment = sealed(buildLoadAssignment(key, all, marking));
    byCluster.set(id, assignment);
  }
  return assignment;
}

function tlsMarking(mode: 'strict' | 'permissive' | undefined): TlsMarking {
  return mode === 'strict' ? 'all' : mode === 'permissive' ? 'announced' : 'none';
}

/** An assignment for every cluster (empty clusters get one with no endpoints), sorted by cluster name. */
export function buildLoadAssignments(index: MeshIndex, state: MeshState): Record<string, unknown>[] {
  return index.clusters.map((key) =>
    cachedLoadAssignment(
      key,
      state.endpoints.get(key.service) ?? NO_ENDPOINTS,
      tlsMarking(index.mtlsModeOf(key.service)),
    ),
  );
}
