// Cross-resource reference checks for a snapshot: listeners → route configurations, EDS clusters → endpoints,
// routes → clusters, transport sockets → the secrets they read over ADS (SDS). Works on the plain Envoy objects (snake_case, '@type' on nested Any).

import type { XdsTypeKey } from '@trellis/xds-protos';
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import type { XdsResource } from './snapshot.ts';

const HCM_TYPE = EXTENSION_TYPES.httpConnectionManager;
/** Cluster.DiscoveryType EDS, as a string or as its enum number. */
const EDS_TYPES: ReadonlySet<unknown> = new Set(['EDS', 3]);

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(obj).filter((o): o is Obj => o !== undefined) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isHcm(config: Obj | undefined): config is Obj {
  const type = str(config?.['@type']);
  return type.slice(type.lastIndexOf('/') + 1) === HCM_TYPE;
}

/** Every HttpConnectionManager config a listener carries: api_listener, filter chains, default filter chain. */
function connectionManagers(listener: Obj): Obj[] {
  const out: Obj[] = [];
  const api = obj(obj(listener['api_listener'])?.['api_listener']);
  if (isHcm(api)) out.push(api);
  const chains = [...list(listener['filter_chains'])];
  const fallback = obj(listener['default_filter_chain']);
  if (fallback) chains.push(fallback);
  for (const chain of chains) {
    for (const filter of list(chain['filters'])) {
      const config = obj(filter['typed_config']);
      if (isHcm(config)) out.push(config);
    }
  }
  return out;
}

/** Cluster names a RouteConfiguration's route actions send traffic to, with the virtual host each sits in. */
function routeTargets(routeConfig: Obj): { vhost: string; cluster: string }[] {
  const out: { vhost: string; cluster: string }[] = [];
  for (const vhost of list(routeConfig['virtual_hosts'])) {
    const vname = str(vhost['name']);
    for (const route of list(vhost['routes'])) {
      const action = obj(route['route']);
      if (!action) continue;
      const single = str(action['cluster']);
      if (single) out.push({ vhost: vname, cluster: single });
      for (const weighted of list(obj(action['weighted_clusters'])?.['clusters'])) {
        const name = str(weighted['name']);
        if (name) out.push({ vhost: vname, cluster: name });
      }
    }
  }
  return out;
}

/** The ClusterLoadAssignment name an EDS cluster needs, or undefined for other discovery types. */
function edsName(cluster: Obj): string | undefined {
  if (!EDS_TYPES.has(cluster['type'])) return undefined;
  return str(obj(cluster['eds_cluster_config'])?.['service_name']) || str(cluster['name']);
}

/** The names of the secrets a transport socket's TLS context reads over ADS (sds_config.ads). */
function adsSecrets(socket: Obj | undefined): string[] {
  const common = obj(obj(socket?.['typed_config'])?.['common_tls_context']);
  if (common === undefined) return [];
  const configs = [
    ...list(common['tls_certificate_sds_secret_configs']),
    ...[obj(obj(common['combined_validation_context'])?.['validation_context_sds_secret_config'])],
    ...[obj(common['validation_context_sds_secret_config'])],
  ];
  return configs.flatMap((c) => (c !== undefined && obj(obj(c['sds_config'])?.['ads']) ? [str(c['name'])] : []));
}

/** Every transport socket of a listener (its filter chains) or a cluster (its socket and socket matches). */
function transportSockets(resource: Obj): Obj[] {
  const chains = [...list(resource['filter_chains'])];
  const fallback = obj(resource['default_filter_chain']);
  if (fallback) chains.push(fallback);
  const sockets = [
    ...chains.map((c) => obj(c['transport_socket'])),
    obj(resource['transport_socket']),
    ...list(resource['transport_socket_matches']).map((m) => obj(m['transport_socket'])),
  ];
  return sockets.filter((s): s is Obj => s !== undefined);
}

/** Consistency errors of a set of resources by type; empty when every reference resolves. */
export function consistencyErrors(byType: (type: XdsTypeKey) => ReadonlyMap<string, XdsResource>): string[] {
  const errors: string[] = [];
  const routes = byType('route');
  const clusters = byType('cluster');
  const endpoints = byType('endpoint');
  const checkTargets = (owner: string, routeConfig: Obj): void => {
    for (const { vhost, cluster } of routeTargets(routeConfig)) {
      if (!clusters.has(cluster)) {
        errors.push(`${owner} (virtual host "${vhost}") routes to cluster "${cluster}", which is not in the snapshot`);
      }
    }
  };
  for (const [name, listener] of byType('listener')) {
    for (const hcm of connectionManagers(listener.object)) {
      const rdsName = str(obj(hcm['rds'])?.['route_config_name']);
      if (obj(hcm['rds']) && !routes.has(rdsName)) {
        errors.push(`listener "${name}" references route configuration "${rdsName}", which is not in the snapshot`);
      }
      const inline = obj(hcm['route_config']);
      if (inline) checkTargets(`listener "${name}" inline route configuration`, inline);
    }
  }
  const secrets = byType('secret');
  for (const type of ['listener', 'cluster'] as const) {
    for (const [name, resource] of byType(type)) {
      for (const secret of new Set(transportSockets(resource.object).flatMap(adsSecrets))) {
        if (!secrets.has(secret))
          errors.push(`${type} "${name}" reads secret "${secret}" over ADS, which is not in the snapshot`);
      }
    }
  }
  for (const [name, route] of routes) checkTargets(`route configuration "${name}"`, route.object);
  for (const [name, cluster] of clusters) {
    const needed = edsName(cluster.object);
    if (needed !== undefined && !endpoints.has(needed)) {
      errors.push(`EDS cluster "${name}" needs endpoints "${needed}", which are not in the snapshot`);
    }
  }
  return errors;
}
