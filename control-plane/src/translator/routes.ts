// RouteConfigurations: one per service port, a virtual host for the service with every Route that targets it.

import type { ClientKind } from '@trellis/node-contract';
import { routeHostsFor } from '../resources/route-hosts.ts';
import type { HeaderOps, HttpRule, RouteResource, ServiceResource } from '../resources/types.ts';
import { CORS_FILTER_NAME, corsPolicyConfig } from './cors.ts';
import { faultFields } from './fault.ts';
import { hashPolicyFor } from './hash-policy.ts';
import { ruleMatches } from './matches.ts';
import type { MeshIndex } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { byString, clusterName, DEFAULT_ROUTE_NAME, routeConfigName, ruleRouteName } from './names.ts';
import { ruleAction } from './route-action.ts';

/** Reports a resource that could not be translated as written (the rest of the translation goes on). */
export type Warn = (message: string) => void;

function headerValueOptions(ops: HeaderOps | undefined): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const add = (rec: Record<string, string> | undefined, append_action: string): void => {
    const entries = Object.entries(rec ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
    for (const [key, value] of entries.sort(([a], [b]) => byString(a, b))) {
      // Values are literal text; Envoy reads them as substitution formats, where a percent sign is written %%.
      out.push({ header: { key, value: value.replaceAll('%', '%%') }, append_action });
    }
  };
  add(ops?.add, 'APPEND_IF_EXISTS_OR_ADD');
  add(ops?.set, 'OVERWRITE_IF_EXISTS_OR_ADD');
  return out;
}

/** request/response header add, set and remove for a rule, as Route fields. */
export function headerOpsFields(
  headers: { request?: HeaderOps; response?: HeaderOps } | undefined,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const reqAdd = headerValueOptions(headers?.request);
  const resAdd = headerValueOptions(headers?.response);
  const reqRemove = [...new Set((headers?.request?.remove ?? []).map((h) => h.toLowerCase()))];
  const resRemove = [...new Set((headers?.response?.remove ?? []).map((h) => h.toLowerCase()))];
  if (reqAdd.length > 0) fields['request_headers_to_add'] = reqAdd;
  if (reqRemove.length > 0) fields['request_headers_to_remove'] = reqRemove;
  if (resAdd.length > 0) fields['response_headers_to_add'] = resAdd;
  if (resRemove.length > 0) fields['response_headers_to_remove'] = resRemove;
  return fields;
}

/**
 * grpc-js-xds (1.14) compares a new RouteConfiguration with the one it holds key by key of the old one only, so a
 * route gaining a typed_per_filter_config entry (a fault added to a rule that had none) looks unchanged and is not
 * applied. A faulty rule's routes carry this suffix in their name for proxyless clients, which makes the change
 * visible; removing a fault is seen without it.
 */
export const PROXYLESS_FAULT_SUFFIX = '+fault';

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/** For proxyless clients, a redirect or direct response rule as a fault abort of all its RPCs. */
function proxylessRefusal(rule: HttpRule): Record<string, unknown> {
  const status = rule.directResponse?.status;
  return faultFields(
    status === undefined ? { abort: { grpcStatus: 'UNAVAILABLE' } } : { abort: { httpStatus: status } },
  );
}

/** The route action of a refused proxyless rule: any cluster that exists (the port's own); nothing reaches it. */
function proxylessFallback(
  refusal: Record<string, unknown>,
  service: string,
  port: number,
): Record<string, unknown> | undefined {
  return Object.keys(refusal).length > 0 ? { cluster: clusterName(service, port) } : undefined;
}

/** A rule answered by the proxy itself (`redirect` or `direct_response` route fields), or undefined. */
function localAction(rule: HttpRule): Record<string, unknown> | undefined {
  const r = rule.redirect;
  if (r !== undefined) {
    const redirect: Record<string, unknown> = { response_code: REDIRECT_CODES[r.code ?? 301] };
    if (r.scheme !== undefined) redirect['scheme_redirect'] = r.scheme;
    if (r.host !== undefined) redirect['host_redirect'] = r.host;
    if (r.port !== undefined) redirect['port_redirect'] = r.port;
    if (r.path !== undefined) redirect['path_redirect'] = r.path;
    if (r.prefix !== undefined) redirect['prefix_rewrite'] = r.prefix;
    if (r.stripQuery === true) redirect['strip_query'] = true;
    return { redirect };
  }
  const d = rule.directResponse;
  if (d === undefined) return undefined;
  return {
    direct_response:
      d.body === undefined ? { status: d.status } : { status: d.status, body: { inline_string: d.body } },
  };
}

/** The Envoy routes of one Route resource for a service port, in rule order. */
export function routesOf(
  route: RouteResource,
  service: string,
  port: number,
  index: MeshIndex,
  client: ClientKind,
  warn: Warn,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [i, rule] of route.spec.http.entries()) {
    const name = ruleRouteName(route.metadata.name, i);
    const ruleWarn: Warn = (m) => warn(`Route ${name}: ${m}`);
    let local = localAction(rule);
    let extraFault: Record<string, unknown> = {};
    if (local !== undefined && client === 'proxyless') {
      // gRPC NACKs a route that does not forward, and leaving the rule out would let its requests through to the
      // next rule (a direct 403 would stop guarding anything). Its RPCs fail instead: a route to the port's own
      // cluster that the fault filter aborts every time.
      extraFault = proxylessRefusal(rule);
      local = undefined;
    }
    const action =
      local ?? ruleAction(rule, port, index, client, ruleWarn) ?? proxylessFallback(extraFault, service, port);
    if (!action) {
      ruleWarn('no destination exists; rule left out');
      continue;
    }
    const { matches, skipped } = ruleMatches(rule, client);
    for (const s of skipped) ruleWarn(`${s}; left out for ${client} clients`);
    const extra: Record<string, unknown> = {
      ...headerOpsFields(rule.headers),
      ...faultFields(rule.fault),
      ...extraFault,
    };
    // Browsers do not call through proxyless gRPC clients: only proxies get the CORS policy.
    if (rule.cors !== undefined && client !== 'proxyless') {
      const perFilter = (extra['typed_per_filter_config'] ?? {}) as Record<string, unknown>;
      extra['typed_per_filter_config'] = { ...perFilter, [CORS_FILTER_NAME]: corsPolicyConfig(rule.cors) };
    }
    const faulty = rule.fault !== undefined || Object.keys(extraFault).length > 0;
    const routeName = client === 'proxyless' && faulty ? `${name}${PROXYLESS_FAULT_SUFFIX}` : name;
    const actionField = local === undefined ? { route: action } : action;
    for (const match of matches) out.push({ name: routeName, match, ...actionField, ...extra });
  }
  return out;
}

/** What one service port's virtual host holds: the Route hosts (port split off) naming it, and its Envoy routes. */
export interface PortRoutes {
  /** Route hosts addressing this port, in Route order (may repeat). */
  aliases: string[];
  /** Every Route's rules for the port, then the catch-all to the port's own cluster. */
  routes: Record<string, unknown>[];
}

/** The routes of one service port, shared by its RouteConfiguration and a sidecar's outbound virtual host. */
export function portRoutes(
  svc: ServiceResource,
  port: number,
  routes: readonly RouteResource[],
  index: MeshIndex,
  client: ClientKind,
  warn: Warn,
): PortRoutes {
  const service = svc.metadata.name;
  const aliases: string[] = [];
  const envoyRoutes: Record<string, unknown>[] = [];
  for (const route of routes) {
    const hosts = routeHostsFor(route, service, port);
    if (hosts.length === 0) continue;
    aliases.push(...hosts);
    envoyRoutes.push(...routesOf(route, service, port, index, client, warn));
  }
  const fallback: Record<string, unknown> = { cluster: clusterName(service, port) };
  const hash = hashPolicyFor(index.policyOf(service)?.loadBalancer, client);
  if (hash.length > 0) fallback['hash_policy'] = hash;
  envoyRoutes.push({ name: DEFAULT_ROUTE_NAME, match: { prefix: '/' }, route: fallback });
  return { aliases, routes: envoyRoutes };
}

/** The RouteConfiguration of one service port. */
export function buildRouteConfiguration(
  svc: ServiceResource,
  port: number,
  routes: readonly RouteResource[],
  index: MeshIndex,
  client: ClientKind,
  warn: Warn,
): Record<string, unknown> {
  const service = svc.metadata.name;
  const { aliases, routes: envoyRoutes } = portRoutes(svc, port, routes, index, client, warn);
  const domains = new Set<string>([service, `${service}:${port}`]);
  for (const h of aliases) {
    domains.add(h);
    domains.add(`${h}:${port}`);
  }
  return {
    name: routeConfigName(service, port),
    virtual_hosts: [{ name: service, domains: [...domains], routes: envoyRoutes }],
  };
}

/** A RouteConfiguration for every service port, sorted by name. */
export function buildRouteConfigurations(
  index: MeshIndex,
  state: MeshState,
  client: ClientKind,
  warn: Warn,
): Record<string, unknown>[] {
  const routes = [...state.routes].sort((a, b) => byString(a.metadata.name, b.metadata.name));
  const out: Record<string, unknown>[] = [];
  for (const svc of index.services) {
    const seen = new Set<number>();
    for (const { port } of svc.spec.ports) {
      if (seen.has(port)) continue;
      seen.add(port);
      out.push(buildRouteConfiguration(svc, port, routes, index, client, warn));
    }
  }
  return out.sort((a, b) => byString(String(a['name']), String(b['name'])));
}
