// An edge gateway's listeners and route configurations (pure): per Gateway port, an HTTPS listener with a filter
// chain per certificate (chosen by SNI) or an HTTP listener; one RouteConfiguration per port holding the Routes bound
// to the Gateway (`gateways: [<name>]`) whose hosts it serves, or a redirect to https. Edge defaults: the client
// address is the peer's (no X-Forwarded-For trusted), paths normalized, a per-client local rate limit, HSTS where asked.
import type { SidecarParams } from '@trellis/node-contract';
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { GatewayResource, GatewayServer, RateLimit, RouteResource } from '../resources/types.ts';
import { policiesOf, rbacHttpFilters } from './authorization.ts';
import { HCM_TYPE_URL, ROUTER_FILTER } from './listeners.ts';
import type { MeshIndex } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { byString } from './names.ts';
import { adsConfigSource } from './proto-values.ts';
import { rateLimitHttpFilter, rateLimitRouteFields } from './rate-limit.ts';
import { jwtAuthnHttpFilter, requestAuthenticationsOf } from './request-authentication.ts';
import { routesOf, type Warn } from './routes.ts';
import { inboundHcmFields, X_REAL_IP } from './sidecar-http-options.ts';
import type { SocketResources } from './socket-resources.ts';

type Obj = Record<string, unknown>;

/** What a gateway takes per client address by default: 100 requests a second, bursts of 200. */
export const DEFAULT_GATEWAY_RATE_LIMIT: RateLimit = {
  perClient: { requestsPerUnit: 100, unit: 'second', burst: 200 },
};

export function gatewayRouteConfigName(gateway: string, port: number): string {
  return `gateway|${gateway}|${port}`;
}

/** Whether a Route host is served by a server host (`*`, `*.suffix`, or the same name). */
function serves(serverHost: string, routeHost: string): boolean {
  const h = routeHost.toLowerCase();
  if (serverHost === '*') return true;
  if (serverHost.startsWith('*.')) return h.endsWith(serverHost.slice(1)) || h === serverHost;
  return h === serverHost;
}

function hstsValue(h: NonNullable<GatewayServer['hsts']>): string {
  const seconds = Math.floor((parseDuration(h.maxAge) ?? 0) / 1000);
  return [
    `max-age=${seconds}`,
    ...(h.includeSubDomains ? ['includeSubDomains'] : []),
    ...(h.preload ? ['preload'] : []),
  ].join('; ');
}

/** The connection manager of every gateway listener: edge settings, the rate limit, the router (routes over RDS). */
function gatewayHcm(gateway: GatewayResource, port: number, security: readonly Obj[]): Obj {
  const name = gateway.metadata.name;
  return {
    '@type': HCM_TYPE_URL,
    stat_prefix: `gateway_${port}`,
    codec_type: 'AUTO',
    // The edge: the client is the peer; a client's own X-Forwarded-For is not trusted.
    use_remote_address: { value: true },
    xff_num_trusted_hops: 0,
    generate_request_id: { value: true },
    ...inboundHcmFields(undefined),
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    // Authentication and authorization of the gateway itself (policies selecting it, and mesh-wide ones) first.
    http_filters: [
      ...security,
      rateLimitHttpFilter(gateway.spec.rateLimit ?? DEFAULT_GATEWAY_RATE_LIMIT),
      ROUTER_FILTER,
    ],
    rds: { route_config_name: gatewayRouteConfigName(name, port), config_source: adsConfigSource() },
  };
}

function hcmFilter(gateway: GatewayResource, port: number, security: readonly Obj[]): Obj {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: gatewayHcm(gateway, port, security) };
}

/**
 * The gateway's own jwt_authn and RBAC filters: RequestAuthentications and AuthorizationPolicies whose selector names
 * the gateway (`selector: { service: <gateway> }`), and the mesh-wide ones, as Istio applies them to gateways.
 */
function gatewaySecurity(index: MeshIndex, name: string, port: number): Obj[] {
  const jwt = jwtAuthnHttpFilter(requestAuthenticationsOf(index.requestAuthentications, name), index.jwks);
  return [...(jwt === undefined ? [] : [jwt]), ...rbacHttpFilters(policiesOf(index.authorizationPolicies, name), port)];
}

/** An HTTPS port: a filter chain per certificate of its servers, SNI names from the certificates' hosts. */
function httpsListener(
  gateway: GatewayResource,
  port: number,
  servers: GatewayServer[],
  address: string,
  security: readonly Obj[],
): Obj {
  const minVersion = servers.find((s) => s.tls?.minVersion !== undefined)?.tls?.minVersion ?? 'TLSv1_2';
  const chains = servers
    .flatMap((s) => s.tls?.certificates ?? [])
    .map((c) => ({
      ...(c.hosts === undefined ? {} : { filter_chain_match: { server_names: c.hosts.map((h) => h.toLowerCase()) } }),
      filters: [hcmFilter(gateway, port, security)],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': typeUrl(EXTENSION_TYPES.downstreamTlsContext),
          common_tls_context: {
            tls_certificates: [{ certificate_chain: { filename: c.certFile }, private_key: { filename: c.keyFile } }],
            tls_params: { tls_minimum_protocol_version: minVersion },
            alpn_protocols: ['h2', 'http/1.1'],
          },
        },
      },
    }));
  return {
    name: `gateway|${port}`,
    address: { socket_address: { address, port_value: port } },
    traffic_direction: 'INBOUND',
    listener_filters: [
      {
        name: 'envoy.filters.listener.tls_inspector',
        typed_config: { '@type': typeUrl(EXTENSION_TYPES.tlsInspector) },
      },
    ],
    filter_chains: chains,
  };
}

function httpListener(gateway: GatewayResource, port: number, address: string, security: readonly Obj[]): Obj {
  return {
    name: `gateway|${port}`,
    address: { socket_address: { address, port_value: port } },
    traffic_direction: 'INBOUND',
    filter_chains: [{ filters: [hcmFilter(gateway, port, security)] }],
  };
}

/** The port of the Gateway's one HTTPS port (a redirect names it unless it is 443); undefined when not one. */
function httpsPort(gateway: GatewayResource): number | undefined {
  const ports = [...new Set(gateway.spec.servers.filter((s) => s.protocol === 'HTTPS').map((s) => s.port))];
  return ports.length === 1 ? ports[0] : undefined;
}

/** One port's RouteConfiguration: the bound Routes' virtual hosts, or a redirect to https. */
function routeConfig(
  gateway: GatewayResource,
  port: number,
  servers: GatewayServer[],
  routes: readonly RouteResource[],
  index: MeshIndex,
  warn: Warn,
): Obj {
  const name = gatewayRouteConfigName(gateway.metadata.name, port);
  const limit = rateLimitRouteFields(gateway.spec.rateLimit ?? DEFAULT_GATEWAY_RATE_LIMIT);
  if (servers.some((s) => s.httpsRedirect === true)) {
    const to = httpsPort(gateway);
    const redirect = {
      https_redirect: true,
      ...(to !== undefined && to !== 443 ? { port_redirect: to } : {}),
      response_code: 'MOVED_PERMANENTLY',
    };
    return {
      name,
      virtual_hosts: [
        { name: 'https-redirect', domains: ['*'], routes: [{ match: { prefix: '/' }, redirect }], ...limit },
      ],
    };
  }
  const serverHosts = servers.flatMap((s) => s.hosts.map((h) => h.toLowerCase()));
  const claimed = new Set<string>();
  const virtualHosts: Obj[] = [];
  for (const route of routes) {
    const domains: string[] = [];
    for (const h of route.spec.hosts) {
      if (!serverHosts.some((sh) => serves(sh, h))) continue;
      for (const d of [h.toLowerCase(), `${h.toLowerCase()}:${port}`]) {
        if (claimed.has(d)) continue;
        claimed.add(d);
        domains.push(d);
      }
    }
    if (domains.length === 0) continue;
    const envoyRoutes = routesOf(route, '', 0, index, 'sidecar', warn);
    if (envoyRoutes.length === 0) continue;
    virtualHosts.push({ name: route.metadata.name, domains, routes: envoyRoutes, ...limit });
  }
  const hsts = servers.find((s) => s.hsts !== undefined)?.hsts;
  return {
    name,
    virtual_hosts: virtualHosts,
    request_headers_to_add: [X_REAL_IP],
    ...(hsts === undefined
      ? {}
      : {
          response_headers_to_add: [
            {
              header: { key: 'strict-transport-security', value: hstsValue(hsts) },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          ],
        }),
  };
}

/** A gateway node's listeners and route configurations; none (and a warning) when its Gateway does not exist. */
export function gatewaySocketResources(
  index: MeshIndex,
  state: MeshState,
  params: SidecarParams,
  warn: Warn,
): SocketResources {
  const name = params.gateway as string;
  const gateway = (state.gateways ?? []).find((g) => g.metadata.name === name);
  if (gateway === undefined) {
    warn(`gateway ${name}: no Gateway resource of that name; the proxy gets no listeners`);
    return { listeners: [], clusters: [], routes: [] };
  }
  const bound = [...state.routes]
    .filter((r) => r.spec.gateways?.includes(name) === true)
    .sort((a, b) => byString(a.metadata.name, b.metadata.name));
  const byPort = new Map<number, GatewayServer[]>();
  for (const s of gateway.spec.servers) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s]);
  const listeners: Obj[] = [];
  const routes: Obj[] = [];
  for (const [port, servers] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const https = servers[0]?.protocol === 'HTTPS';
    const security = gatewaySecurity(index, name, port);
    listeners.push(
      https
        ? httpsListener(gateway, port, servers, params.inboundAddress, security)
        : httpListener(gateway, port, params.inboundAddress, security),
    );
    routes.push(routeConfig(gateway, port, servers, bound, index, warn));
  }
  return { listeners, clusters: [], routes };
}
