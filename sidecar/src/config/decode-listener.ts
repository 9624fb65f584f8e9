// Decodes a Listener (LDS) into the model: socket address, direction, and its one filter chain's terminal filter.
import { isIP } from 'node:net';
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import { HCM_TYPE, httpConnectionManager } from './decode-http-connection-manager.ts';
import { tokenBucketOf } from './decode-local-ratelimit.ts';
import { accessLogs } from './decode-observability.ts';
import { networkRbacConfig } from './decode-rbac.ts';
import { isServingChain, servingTls } from './decode-serving-tls.ts';
import { downstreamSocket } from './decode-tls.ts';
import {
  anyTypeName,
  at,
  type Decoded,
  decodeResource,
  durationMs,
  enumName,
  fail,
  type Obj,
  objList,
  optObj,
  port,
  reqObj,
  str,
  wrappedBool,
  wrappedNum,
} from './decode-values.ts';
import type {
  ListenerConfig,
  ListenerTls,
  NetworkFilter,
  NetworkRbacConfig,
  ServingTls,
  TcpProxyConfig,
  WeightedCluster,
} from './model.ts';

export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const CONNECTION_LIMIT_TYPE = 'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';
const NETWORK_LOCAL_RATELIMIT_TYPE = EXTENSION_TYPES.networkLocalRateLimit;
const NETWORK_RBAC_TYPE = EXTENSION_TYPES.networkRbac;

/** Envoy closes an idle TCP proxy connection after an hour unless idle_timeout says otherwise (0 = never). */
const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

function tcpProxy(o: Obj, path: string): TcpProxyConfig {
  for (const field of ['tunneling_config', 'on_demand', 'metadata_match']) {
    if (o[field] !== undefined) fail(at(path, field), 'not supported by the sidecar');
  }
  let clusters: WeightedCluster[];
  if (typeof o['cluster'] === 'string' && o['cluster'] !== '') clusters = [{ name: o['cluster'], weight: 1 }];
  else {
    const weighted = reqObj(o['weighted_clusters'], at(path, 'cluster'));
    const wpath = at(at(path, 'weighted_clusters'), 'clusters');
    clusters = objList(weighted['clusters'], wpath).map((c, i) => {
      const name = str(c['name']);
      if (name === '') fail(at(at(wpath, i), 'name'), 'is required');
      const weight = Number(c['weight'] ?? 0);
      if (!Number.isInteger(weight) || weight < 1) fail(at(at(wpath, i), 'weight'), 'expected a positive integer');
      return { name, weight };
    });
    if (clusters.length === 0) fail(wpath, 'needs at least one cluster');
  }
  return {
    statPrefix: str(o['stat_prefix']),
    clusters,
    totalWeight: clusters.reduce((sum, c) => sum + c.weight, 0),
    idleTimeoutMs: durationMs(o['idle_timeout'], at(path, 'idle_timeout'), DEFAULT_TCP_IDLE_TIMEOUT_MS),
    accessLogs: accessLogs(o['access_log'], at(path, 'access_log')),
  };
}

/**
 * Envoy's network local_ratelimit filter: a token bucket for new connections (runtime keys are not read: the
 * `runtime_enabled` default_value says whether it applies); undefined when it is off.
 */
function connectionRateLimit(o: Obj, path: string): ListenerConfig['connectionRateLimit'] {
  if (str(o['share_key']) !== '') fail(at(path, 'share_key'), 'is not supported by the sidecar');
  const statPrefix = str(o['stat_prefix']);
  if (statPrefix === '') fail(at(path, 'stat_prefix'), 'is required');
  const bucket = optObj(o['token_bucket'], at(path, 'token_bucket'));
  if (bucket === undefined) fail(at(path, 'token_bucket'), 'is required');
  const tokenBucket = tokenBucketOf(bucket, at(path, 'token_bucket'));
  const flag = optObj(o['runtime_enabled'], at(path, 'runtime_enabled'));
  const enabled =
    flag === undefined
      ? true
      : wrappedBool(flag['default_value'], at(at(path, 'runtime_enabled'), 'default_value'), true);
  return enabled ? { statPrefix, tokenBucket } : undefined;
}

/** Envoy's connection_limit network filter: its max_connections caps the listener's open connections. */
function connectionLimit(o: Obj, path: string): number {
  if (o['delay'] !== undefined)
    fail(at(path, 'delay'), 'not supported by the sidecar (refused connections close at once)');
  const max = wrappedNum(o['max_connections'], at(path, 'max_connections'), 0);
  if (!Number.isSafeInteger(max) || max < 1) fail(at(path, 'max_connections'), `expected an integer >= 1, got ${max}`);
  return max;
}

/**
 * The terminal network filter of a chain (HttpConnectionManager or TcpProxy), after an optional connection_limit;
 * anything else is unsupported.
 */
function networkFilter(
  chain: Obj,
  path: string,
  version: string,
): Pick<ListenerConfig, 'filter' | 'maxConnections' | 'connectionRateLimit' | 'rbac'> {
  const fpath = at(path, 'filters');
  const filters = objList(chain['filters'], fpath);
  if (filters.length === 0) fail(fpath, 'needs a network filter');
  let maxConnections: number | undefined;
  let rate: ListenerConfig['connectionRateLimit'];
  const rbac: NetworkRbacConfig[] = [];
  for (const [i, f] of filters.entries()) {
    const cpath = at(at(fpath, i), 'typed_config');
    const config = optObj(f['typed_config'], cpath);
    if (!config) fail(cpath, `is required (filter ${str(f['name']) || '(unnamed)'})`);
    const type = anyTypeName(config);
    if (type === CONNECTION_LIMIT_TYPE && i !== filters.length - 1) {
      maxConnections = Math.min(maxConnections ?? Number.POSITIVE_INFINITY, connectionLimit(config, cpath));
      continue;
    }
    if (type === NETWORK_LOCAL_RATELIMIT_TYPE && i !== filters.length - 1) {
      if (rate !== undefined) fail(cpath, 'only one local_ratelimit network filter per listener is supported');
      rate = connectionRateLimit(config, cpath);
      continue;
    }
    if (type === NETWORK_RBAC_TYPE && i !== filters.length - 1) {
      rbac.push(networkRbacConfig(config, cpath));
      continue;
    }
    if (type !== HCM_TYPE && type !== TCP_PROXY_TYPE) fail(cpath, `unsupported network filter ${type}`);
    if (i !== filters.length - 1) fail(at(fpath, i), `${type} must be the last network filter`);
    const filter: NetworkFilter =
      type === HCM_TYPE
        ? { type: 'http', http: httpConnectionManager(config, cpath, version) }
        : { type: 'tcp', tcp: tcpProxy(config, cpath) };
    return {
      filter,
      ...(maxConnections === undefined ? {} : { maxConnections }),
      ...(rate === undefined ? {} : { connectionRateLimit: rate }),
      ...(rbac.length === 0 ? {} : { rbac }),
    };
  }
  return fail(fpath, 'needs a network filter');
}

/** A chain's filter_chain_match: nothing, or only transport_protocol (what tls_inspector tells). */
function transportProtocol(chain: Obj, path: string): string | undefined {
  const match = optObj(chain['filter_chain_match'], at(path, 'filter_chain_match'));
  if (match === undefined) return undefined;
  const { transport_protocol: protocol, ...rest } = match;
  if (Object.values(rest).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== ''))
    fail(at(path, 'filter_chain_match'), 'only transport_protocol (tls, raw_buffer) is matched');
  const p = str(protocol);
  if (p !== '' && p !== 'tls' && p !== 'raw_buffer')
    fail(at(at(path, 'filter_chain_match'), 'transport_protocol'), `expected tls or raw_buffer, got ${p}`);
  return p === '' ? undefined : p;
}

/** The HttpConnectionManager typed_config of a chain, when it has one. */
function rawHcm(chain: Obj): Obj | undefined {
  const filters = Array.isArray(chain['filters']) ? (chain['filters'] as Obj[]) : [];
  for (const f of filters) {
    const config = f?.['typed_config'] as Obj | undefined;
    if (config !== undefined && anyTypeName(config) === HCM_TYPE) return config;
  }
  return undefined;
}

/** A chain's filters with the client-certificate fields left out (the only way the two permissive chains differ). */
function withoutClientCertDetails(chain: Obj): unknown {
  const filters = Array.isArray(chain['filters']) ? (chain['filters'] as Obj[]) : [];
  return filters.map((f) => {
    const config = f?.['typed_config'] as Obj | undefined;
    if (config === undefined || rawHcm({ filters: [f] }) === undefined) return f;
    const { forward_client_cert_details: _f, set_current_client_cert_details: _s, ...rest } = config;
    return { ...f, typed_config: rest };
  });
}

/**
 * The filter chain the sidecar serves and the TLS it terminates: one chain (plaintext, or TLS only: strict), or a
 * `tls` chain and a `raw_buffer` chain with the same filters (permissive: told apart by the first byte).
 */
function filterChain(
  o: Obj,
  inspector: boolean,
): { chain: Obj; path: string; tls?: ListenerTls; serving?: ServingTls } {
  const chains = objList(o['filter_chains'], 'filter_chains');
  const fallback = optObj(o['default_filter_chain'], 'default_filter_chain');
  if (chains.some(isServingChain)) {
    // Edge TLS (a gateway): a certificate per set of SNI names, the same filters behind each.
    if (fallback !== undefined)
      fail('default_filter_chain', 'not supported on edge TLS listeners (give a chain without server_names)');
    return {
      chain: chains[0] as Obj,
      path: 'filter_chains[0]',
      serving: servingTls(chains, (c) => c['filters'], inspector),
    };
  }
  if (chains.length === 2 && !fallback) {
    const protocols = chains.map((c, i) => transportProtocol(c, at('filter_chains', i)));
    const t = protocols.indexOf('tls');
    const r = protocols.indexOf('raw_buffer');
    if (t < 0 || r < 0) fail('filter_chains', 'two chains must match transport_protocol tls and raw_buffer');
    if (!inspector) fail('listener_filters', 'matching transport_protocol needs envoy.filters.listener.tls_inspector');
    const tlsChain = chains[t] as Obj;
    const rawChain = chains[r] as Obj;
    const tpath = at('filter_chains', t);
    if (JSON.stringify(withoutClientCertDetails(tlsChain)) !== JSON.stringify(withoutClientCertDetails(rawChain)))
      fail('filter_chains', 'the tls and raw_buffer chains must carry the same filters');
    // The TLS chain's connection manager serves both: its X-Forwarded-Client-Cert handling treats a plaintext
    // connection as Envoy's default does (SANITIZE) in every mode but ALWAYS_FORWARD_ONLY.
    if (enumName(rawHcm(rawChain)?.['forward_client_cert_details'], 'SANITIZE') !== 'SANITIZE')
      fail(
        at(at('filter_chains', r), 'filters'),
        'the raw_buffer chain may not forward client certificate details (it has none)',
      );
    // One connection manager serves both chains: a mode that trusts a client's own XFCC would trust plaintext ones.
    if (enumName(rawHcm(tlsChain)?.['forward_client_cert_details'], 'SANITIZE') === 'ALWAYS_FORWARD_ONLY')
      fail(
        at(tpath, 'filters'),
        'ALWAYS_FORWARD_ONLY is not supported on a listener that also takes plaintext (it would pass their XFCC)',
      );
    const context = downstreamSocket(
      optObj(tlsChain['transport_socket'], at(tpath, 'transport_socket')),
      at(tpath, 'transport_socket'),
    );
    if (context === undefined) fail(at(tpath, 'transport_socket'), 'the tls chain needs a DownstreamTlsContext');
    if (
      downstreamSocket(optObj(rawChain['transport_socket'], 'x'), at(at('filter_chains', r), 'transport_socket')) !==
      undefined
    )
      fail(at(at('filter_chains', r), 'transport_socket'), 'the raw_buffer chain cannot terminate TLS');
    return { chain: tlsChain, path: tpath, tls: { mode: 'permissive', context } };
  }
  if (chains.length > 1 || (chains.length === 1 && fallback)) {
    fail('filter_chains', 'one filter chain, or a tls and a raw_buffer chain, per listener');
  }
  const [first] = chains;
  const chain = first ?? fallback ?? fail('filter_chains', 'needs a filter chain');
  const path = first ? 'filter_chains[0]' : 'default_filter_chain';
  if (transportProtocol(chain, path) !== undefined)
    fail(at(path, 'filter_chain_match'), 'a listener with one chain cannot match on transport_protocol');
  const context = downstreamSocket(
    optObj(chain['transport_socket'], at(path, 'transport_socket')),
    at(path, 'transport_socket'),
  );
  return context === undefined ? { chain, path } : { chain, path, tls: { mode: 'strict', context } };
}

function socketAddress(o: Obj): { address: string; port: number } {
  const addr = reqObj(o['address'], 'address');
  if (addr['pipe'] !== undefined) fail('address.pipe', 'pipe addresses are not supported');
  const sa = reqObj(addr['socket_address'], 'address.socket_address');
  const path = 'address.socket_address';
  if (enumName(sa['protocol'], 'TCP') !== 'TCP') fail(at(path, 'protocol'), 'only TCP is supported');
  if (sa['named_port'] !== undefined) fail(at(path, 'named_port'), 'named ports are not supported');
  if (sa['resolver_name'] !== undefined) fail(at(path, 'resolver_name'), 'custom resolvers are not supported');
  const address = str(sa['address']);
  if (isIP(address) === 0) fail(at(path, 'address'), `expected an IP address, got ${JSON.stringify(address)}`);
  return { address, port: port(sa['port_value'], at(path, 'port_value'), true) };
}

/**
 * A Listener as the sidecar serves it; null for listeners that bind no socket (api_listeners are for gRPC
 * proxyless clients and are skipped, not rejected).
 */
export function listener(o: Obj, version: string): ListenerConfig | null {
  if (o['api_listener'] !== undefined && o['address'] === undefined) return null;
  const { address, port } = socketAddress(o);
  if (!wrappedBool(o['bind_to_port'], 'bind_to_port', true))
    fail('bind_to_port', 'listeners that do not bind are not supported');
  let inspector = false;
  for (const [i, lf] of objList(o['listener_filters'], 'listener_filters').entries()) {
    const config = optObj(lf['typed_config'], at(at('listener_filters', i), 'typed_config'));
    if (config !== undefined && anyTypeName(config) === EXTENSION_TYPES.tlsInspector) {
      inspector = true;
      continue;
    }
    fail(at('listener_filters', i), `unsupported listener filter ${config ? anyTypeName(config) : str(lf['name'])}`);
  }
  const { chain, path, tls, serving } = filterChain(o, inspector);
  const { filter, maxConnections, connectionRateLimit, rbac } = networkFilter(chain, path, version);
  const config: ListenerConfig = {
    name: str(o['name']),
    address,
    port,
    direction: enumName(o['traffic_direction'], 'UNSPECIFIED') === 'INBOUND' ? 'inbound' : 'outbound',
    filter,
    version,
  };
  if (tls !== undefined) config.tls = tls;
  if (serving !== undefined) config.serving = serving;
  if (maxConnections !== undefined) config.maxConnections = maxConnections;
  if (rbac !== undefined) config.rbac = rbac;
  if (connectionRateLimit !== undefined) config.connectionRateLimit = connectionRateLimit;
  if (o['per_connection_buffer_limit_bytes'] !== undefined) {
    const limit = wrappedNum(o['per_connection_buffer_limit_bytes'], 'per_connection_buffer_limit_bytes', 0);
    if (!Number.isSafeInteger(limit) || limit < 0)
      fail('per_connection_buffer_limit_bytes', `expected an integer >= 0, got ${limit}`);
    config.bufferLimitBytes = limit;
  }
  return config;
}

/** Decodes an LDS resource: `{ value: null }` for a listener the sidecar skips (api_listener). */
export function decodeListener(o: Obj, version: string): Decoded<ListenerConfig | null> {
  return decodeResource('listener', str(o['name']), () => listener(o, version));
}
