// A Trellis sidecar's socket listeners (outbound HTTP proxy, inbound to the app, per-upstream TCP) and inbound cluster.

import type { SidecarParams, TcpUpstream } from '@trellis/node-contract';
import { duration } from '@trellis/xds-protos';
import type { ServicePort, SidecarOptions, TrafficPolicySpec } from '../resources/types.ts';
import { type InboundAuthorization, inboundAuthorization, NO_AUTHORIZATION, policiesOf } from './authorization.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './clusters.ts';
import { compressionHttpFilters } from './compression.ts';
import { corsHttpFilter } from './cors.ts';
import { faultHttpFilter } from './fault.ts';
import { HCM_TYPE_URL, ROUTER_FILTER } from './listeners.ts';
import type { MeshIndex } from './mesh-index.ts';
import { inboundWithMeshTls, type MeshIdentity } from './mesh-tls.ts';
import { clusterName, DEFAULT_ROUTE_NAME } from './names.ts';
import { OUTBOUND_ROUTE_CONFIG } from './outbound-routes.ts';
import { adsConfigSource, compact, struct } from './proto-values.ts';
import { upstreamProtocolOptions } from './protocol-options.ts';
import { rateLimitHttpFilter, rateLimitRouteFields } from './rate-limit.ts';
import { jwtAuthnHttpFilter, requestAuthenticationsOf } from './request-authentication.ts';
import { cacheHttpFilter } from './response-cache.ts';
import type { Warn } from './routes.ts';
import { inboundHcmFields, inboundRouteConfigFields, outboundHcmFields } from './sidecar-http-options.ts';
import { connectionLimitFilters, hcmLimitFields, listenerLimitFields } from './sidecar-limits.ts';
import { type EffectiveTelemetry, hcmTelemetryFields, tcpTelemetryFields } from './telemetry.ts';
import { typescriptHttpFilters, typescriptOverrideRoutes } from './typescript-filters.ts';

export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const OUTBOUND_LISTENER = 'outbound';
export const INBOUND_LISTENER = 'inbound';
const LOOPBACK = '127.0.0.1';
/** The service name a sidecar reports its spans as when it fronts no service. */
export const SIDECAR_TRACE_SERVICE = 'trellis-sidecar';

/** The cluster the inbound listener forwards to: the app on 127.0.0.1:<appPort>. */
export function inboundClusterName(appPort: number): string {
  return `inbound|${appPort}`;
}

/** The listener that carries plain TCP for one upstream service port. */
export function tcpListenerName(up: TcpUpstream): string {
  return `outbound-tcp|${up.service}|${up.port}`;
}

function socketAddress(address: string, port: number): Record<string, unknown> {
  return { socket_address: { address, port_value: port } };
}

/** One filter chain ending in the terminal filter `name`, after the `before` filters (a connection limit). */
function networkFilter(
  name: string,
  typedConfig: Record<string, unknown>,
  before: readonly Record<string, unknown>[] = [],
): Record<string, unknown> {
  return { filter_chains: [{ filters: [...before, { name, typed_config: typedConfig }] }] };
}

/**
 * The HttpConnectionManager settings both directions share (Telemetry's tracing and access log; the direction's
 * Server header and path preparation in `headerPath`); router last.
 */
function sidecarHcm(
  statPrefix: string,
  upgrades: string[],
  telemetry: EffectiveTelemetry | undefined,
  service: string | undefined,
  headerPath: Readonly<Record<string, unknown>>,
  filters: readonly Record<string, unknown>[] = [],
): Record<string, unknown> {
  return {
    '@type': HCM_TYPE_URL,
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    use_remote_address: { value: true },
    generate_request_id: { value: true },
    ...headerPath,
    upgrade_configs: upgrades.map((upgrade_type) => ({ upgrade_type })),
    http_filters: [...filters, ROUTER_FILTER],
    ...hcmTelemetryFields(telemetry, service ?? SIDECAR_TRACE_SERVICE),
  };
}

function tcpProxy(statPrefix: string, cluster: string, telemetry: EffectiveTelemetry | undefined) {
  return { '@type': TCP_PROXY_TYPE_URL, stat_prefix: statPrefix, cluster, ...tcpTelemetryFields(telemetry) };
}

/**
 * The app's HTTP proxy on 127.0.0.1:<outboundPort>: routes by Host / absolute URI, tunnels CONNECT; the Service's
 * limits apply here too.
 */
export function outboundListener(
  params: SidecarParams,
  telemetry?: EffectiveTelemetry,
  options?: SidecarOptions,
  uses: { faults?: boolean; cors?: boolean } = {},
): Record<string, unknown> {
  // Faults are injected at the calling side, as Istio does: the outbound connection manager carries the filter. CORS
  // comes first: a preflight is answered before anything else acts on it.
  const filters = [
    ...(uses.cors === true ? [corsHttpFilter()] : []),
    ...(uses.faults === true ? [faultHttpFilter()] : []),
  ];
  const hcm = {
    ...sidecarHcm(
      OUTBOUND_LISTENER,
      ['websocket', 'CONNECT'],
      telemetry,
      params.service,
      outboundHcmFields(options),
      filters,
    ),
    ...hcmLimitFields(options, { allow_connect: true }),
    rds: { route_config_name: OUTBOUND_ROUTE_CONFIG, config_source: adsConfigSource() },
  };
  const limit = connectionLimitFilters(OUTBOUND_LISTENER, options);
  return {
    name: OUTBOUND_LISTENER,
    address: socketAddress(LOOPBACK, params.outboundPort),
    traffic_direction: 'OUTBOUND',
    ...listenerLimitFields(options),
    ...networkFilter('envoy.filters.network.http_connection_manager', hcm, limit),
  };
}

/** The service port a sidecar fronts: the one numbered like the app port, else the service's first. */
export function frontedPort(index: MeshIndex, params: SidecarParams): ServicePort | undefined {
  if (params.service === undefined) return undefined;
  const ports = index.serviceByName.get(params.service)?.spec.ports ?? [];
  return ports.find((p) => p.port === params.appPort) ?? ports[0];
}

/**
 * Peers' entry on <inboundAddress>:<inboundPort>: HTTP (inline route to the app, with the Service's header and path
 * options and limits) or TCP proxy, by port protocol; behind the Service's connection limit, if it sets one.
 */
export function inboundListener(
  service: string,
  port: ServicePort,
  params: SidecarParams & { appPort: number },
  telemetry?: EffectiveTelemetry,
  options?: SidecarOptions,
  policy?: Pick<TrafficPolicySpec, 'rateLimit' | 'compression' | 'responseCache' | 'filters'>,
  authz: InboundAuthorization = NO_AUTHORIZATION,
): Record<string, unknown> {
  const cluster = inboundClusterName(params.appPort);
  // Authorization comes right after the connection limit: a denied caller costs nothing more.
  const limit = [...connectionLimitFilters(INBOUND_LISTENER, options), ...authz.network];
  let filter: Record<string, unknown>;
  if (port.protocol === 'TCP') {
    filter = networkFilter('envoy.filters.network.tcp_proxy', tcpProxy(INBOUND_LISTENER, cluster, telemetry), limit);
  } else {
    const name = `inbound|${service}`;
    const { rateLimit, compression, responseCache, filters: custom } = policy ?? {};
    // The service's rate limit holds every caller at its own door, the inbound connection manager; its cache answers
    // there, and its responses are compressed there for every caller that accepts it (before the cache stores them,
    // so a hit is served compressed).
    const filters = [
      // Authentication and authorization first (jwt_authn, then RBAC: DENY, ALLOW, AUDIT): a refused request is
      // counted by nothing after it.
      ...authz.http,
      ...(rateLimit === undefined ? [] : [rateLimitHttpFilter(rateLimit)]),
      // The service's own filters see every admitted request, before a cache could answer it.
      ...(custom === undefined ? [] : typescriptHttpFilters(custom)),
      ...(responseCache === undefined ? [] : [cacheHttpFilter(responseCache)]),
      ...(compression === undefined ? [] : compressionHttpFilters(compression)),
    ];
    const action = { cluster, timeout: duration(0), ...rateLimitRouteFields(policy?.rateLimit) };
    const route = { name: DEFAULT_ROUTE_NAME, match: { prefix: '/' }, route: action };
    // A filter's exceptions (off, or another config, for some requests) are routes before the catch-all.
    const routes = custom === undefined ? [route] : [...typescriptOverrideRoutes(custom, action), route];
    const hcm = {
      ...sidecarHcm(INBOUND_LISTENER, ['websocket'], telemetry, service, inboundHcmFields(options), filters),
      ...hcmLimitFields(options),
      route_config: {
        name,
        virtual_hosts: [{ name, domains: ['*'], routes }],
        ...inboundRouteConfigFields(options),
      },
    };
    filter = networkFilter('envoy.filters.network.http_connection_manager', hcm, limit);
  }
  return {
    name: INBOUND_LISTENER,
    address: socketAddress(params.inboundAddress, params.inboundPort),
    traffic_direction: 'INBOUND',
    ...(port.protocol === 'TCP' ? {} : listenerLimitFields(options)),
    ...filter,
  };
}

/** What a service's inbound checks first: jwt_authn (RequestAuthentication), then RBAC (AuthorizationPolicy). */
function inboundSecurity(index: MeshIndex, service: string, port: ServicePort): InboundAuthorization {
  const tcp = port.protocol === 'TCP';
  const authz = inboundAuthorization(policiesOf(index.authorizationPolicies, service), port.port, tcp);
  const jwt = tcp
    ? undefined
    : jwtAuthnHttpFilter(requestAuthenticationsOf(index.requestAuthentications, service), index.jwks);
  return jwt === undefined ? authz : { ...authz, http: [jwt, ...authz.http] };
}

/** The STATIC cluster `inbound|<appPort>` to the app on loopback (HTTP/2 upstream for HTTP2/GRPC ports). */
export function inboundCluster(service: string, port: ServicePort, appPort: number): Record<string, unknown> {
  const name = inboundClusterName(appPort);
  return compact({
    name,
    type: 'STATIC',
    connect_timeout: duration(DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(LOOPBACK, appPort) } }] }],
    },
    typed_extension_protocol_options: upstreamProtocolOptions(port.protocol),
    metadata: {
      filter_metadata: {
        trellis: struct({ service, port: appPort, protocol: port.protocol, direction: 'inbound' }),
      },
    },
  });
}

/** A plain-TCP listener on 127.0.0.1:<localPort> proxying to cluster `<svc>|<port>`. */
export function tcpUpstreamListener(up: TcpUpstream, telemetry?: EffectiveTelemetry): Record<string, unknown> {
  const name = tcpListenerName(up);
  const proxy = tcpProxy(name, clusterName(up.service, up.port), telemetry);
  return {
    name,
    address: socketAddress(LOOPBACK, up.localPort),
    traffic_direction: 'OUTBOUND',
    ...networkFilter('envoy.filters.network.tcp_proxy', proxy),
  };
}

const ANY_ADDRESSES: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]']);

/** Whether two binds would clash: the same port on the same address, or on a wildcard address. */
function clashes(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  return a.port === b.port && (a.address === b.address || ANY_ADDRESSES.has(a.address) || ANY_ADDRESSES.has(b.address));
}

/** The sidecar's socket listeners and the clusters only they use; a listener whose bind would clash is left out. */
export function sidecarSocketResources(
  index: MeshIndex,
  params: SidecarParams,
  warn: Warn,
  identity?: MeshIdentity,
): { listeners: Record<string, unknown>[]; clusters: Record<string, unknown>[] } {
  const listeners: Record<string, unknown>[] = [];
  const clusters: Record<string, unknown>[] = [];
  const binds: { name: string; address: string; port: number }[] = [];
  const add = (listener: Record<string, unknown>, address: string, port: number): boolean => {
    const name = String(listener['name']);
    const clash = binds.find((b) => b.name === name || clashes(b, { address, port }));
    if (clash) {
      warn(`sidecar listener ${name} (${address}:${port}) clashes with ${clash.name}; left out`);
      return false;
    }
    binds.push({ name, address, port });
    listeners.push(listener);
    return true;
  };
  const telemetry = index.telemetryOf(params.service);
  const options = params.service === undefined ? undefined : index.serviceByName.get(params.service)?.spec.sidecar;
  add(outboundListener(params, telemetry, options, index), LOOPBACK, params.outboundPort);
  const port = frontedPort(index, params);
  const { appPort, service } = params;
  if (port && service !== undefined && appPort !== undefined) {
    const clusterTaken = index.clusterNames.has(inboundClusterName(appPort));
    if (clusterTaken) warn(`sidecar cluster ${inboundClusterName(appPort)} clashes with a service cluster; left out`);
    else {
      const inbound = inboundListener(
        service,
        port,
        { ...params, appPort },
        telemetry,
        options,
        index.policyOf(service),
        inboundSecurity(index, service, port),
      );
      // A sidecar holding a workload certificate terminates mesh mTLS on its inbound port (unless its service's
      // PeerAuthentication says DISABLE).
      const mode = identity === undefined ? undefined : index.mtlsModeOf(service);
      const listener =
        identity === undefined || mode === undefined
          ? inbound
          : inboundWithMeshTls(inbound, port.protocol, { ...identity, mode });
      if (add(listener, params.inboundAddress, params.inboundPort))
        clusters.push(inboundCluster(service, port, appPort));
    }
  }
  for (const up of params.tcpUpstreams) add(tcpUpstreamListener(up, telemetry), LOOPBACK, up.localPort);
  return { listeners, clusters };
}
