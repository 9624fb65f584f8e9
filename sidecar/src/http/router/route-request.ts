// Resolves a request to its route and cluster (holding the cluster's request slot), or to the local reply to send.
import type { RedirectAction, RouteAction } from '../../config/model.ts';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import type { HttpContext } from '../context/http-context.ts';
import { isGrpcContentType } from '../message/grpc.ts';
import { headerGet } from '../message/header-list.ts';
import { normalizeRequestPath, PATH_OK, PATH_REDIRECT, type PathVerdict } from '../message/path-normalization.ts';
import { type LocalReply, ResponseFlag } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import type { OverloadCause } from '../pool/upstream-attempt.ts';
import type { ResponseScope } from '../routing/response-headers.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import { pickRouteCluster } from '../routing/router.ts';

/**
 * The stream idle limit of a routed request or tunnel (ms, 0 = none): the route's idle_timeout when it has one — 0
 * turning the limit off for that route, as in Envoy — else the connection manager's stream_idle_timeout.
 */
export function streamIdleMs(ctx: HttpContext, action: RouteAction): number {
  return action.idleTimeoutMs ?? ctx.hcm.streamIdleTimeoutMs;
}

/** Names the circuit breaker behind a 503 UO (beside `x-trellis-overloaded: true`). */
export const OVERLOAD_CAUSE_HEADER = 'x-trellis-overload-cause';

export interface RoutedRequest {
  scope: ResponseScope;
  route: CompiledRoute;
  action: RouteAction;
  /** The request slot of this cluster's breaker is held: release it when the request ends. */
  cluster: Cluster;
}

export interface RefusedRequest {
  reply: LocalReply;
  /**
   * Refused by the connection manager before any HTTP filter (path normalization), as in Envoy; other refusals (no
   * route, redirect, direct response, no cluster, overload) are the router's, after the filters ran.
   */
  beforeFilters?: true;
  /** How far routing got (for response header mutations on the reply). */
  scope: ResponseScope;
}

/**
 * Path preparation (400 or 307 from path normalization), route match (404 NR), direct response, upgrade policy for
 * tunnels (403), weighted cluster (503 NC) and the cluster's request breaker (503 UO with x-trellis-overloaded).
 */
export function resolveRoute(
  ctx: HttpContext,
  view: RequestView,
  upgrade: 'websocket' | 'connect' | undefined,
): RoutedRequest | RefusedRequest {
  const scope: ResponseScope = { table: ctx.routeTable(), vhost: undefined, route: undefined };
  if (!view.isConnect) {
    const verdict = normalizeRequestPath(view, ctx.hcm.pathNormalization);
    if (verdict !== PATH_OK) return { reply: pathReply(ctx, view, verdict), scope, beforeFilters: true };
  }
  const match = scope.table?.match(view);
  if (match === undefined)
    return { reply: { status: 404, body: 'route not found', flags: ResponseFlag.NoRoute }, scope };
  scope.vhost = match.vhost;
  scope.route = match.route;
  const route = match.route;
  const action = route.action;
  if (action === undefined) {
    if (route.redirect !== undefined) {
      const location = redirectLocation(route, view);
      if (location === undefined)
        return { reply: { status: 400, body: 'invalid host', flags: ResponseFlag.DownstreamProtocolError }, scope };
      return { reply: { status: route.redirect.status, body: '', flags: '', location }, scope };
    }
    const direct = route.direct ?? { status: 500, body: '' };
    return { reply: { status: direct.status, body: direct.body, flags: '' }, scope };
  }
  if (upgrade !== undefined && !ctx.upgradeAllowed(route, upgrade)) {
    const reply = {
      status: 403,
      body: `${upgrade} not allowed on this route`,
      flags: ResponseFlag.DownstreamProtocolError,
    };
    return { reply, scope };
  }
  const name = pickRouteCluster(action);
  const cluster = name === undefined ? undefined : ctx.deps.clusters.get(name);
  if (cluster === undefined)
    return { reply: { status: 503, body: 'cluster not found', flags: ResponseFlag.NoCluster }, scope };
  if (!cluster.tryAcquireRequest()) return overloadReply(scope, 'max_requests');
  return { scope, route, action, cluster };
}

/** A host name or an IP literal as a redirect may repeat it. */
const REDIRECT_HOST = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;

/** Default ports, dropped from a redirect's Location when the scheme changes away from them. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * The Location of a redirect route: the request's URL with the action's scheme, host, port and path (whole, or the
 * matched prefix replaced) swapped in; the query kept unless stripped or replaced by one in path_redirect.
 */
export function redirectLocation(route: CompiledRoute, view: RequestView): string | undefined {
  const r = route.redirect as RedirectAction;
  const authority = view.authority;
  const colon = authority.lastIndexOf(':');
  const hasPort = colon > authority.lastIndexOf(']');
  const requestHost = hasPort ? authority.slice(0, colon) : authority;
  const requestPort = hasPort ? authority.slice(colon + 1) : '';
  const requestScheme = view.scheme.toLowerCase();
  const scheme = r.scheme ?? requestScheme;
  // The client's host goes into the Location only when it is a plain host name or IP literal (no userinfo, path,
  // spaces or obs-text a client could slip into a URL the proxy signs off on).
  if (r.host === undefined && !REDIRECT_HOST.test(requestHost)) return undefined;
  if (!/^\d*$/.test(requestPort)) return undefined;
  const host = r.host ?? requestHost;
  let port = r.port !== undefined ? String(r.port) : r.host !== undefined ? '' : requestPort;
  if (r.port === undefined && scheme !== requestScheme && port === DEFAULT_PORTS[requestScheme]) port = '';
  if (port === DEFAULT_PORTS[scheme]) port = '';
  let path = view.path;
  let query = r.stripQuery ? '' : view.query;
  if (r.path !== undefined) {
    const q = r.path.indexOf('?');
    path = q < 0 ? r.path : r.path.slice(0, q);
    if (q >= 0) query = r.path.slice(q);
  } else if (r.prefix !== undefined) {
    const m = route.path;
    path = m.kind === 'prefix' ? r.prefix + path.slice(m.value.length) : r.prefix;
  }
  return `${scheme}://${host}${port === '' ? '' : `:${port}`}${path}${query}`;
}

/**
 * A path the listener refuses (escaped slashes with REJECT_REQUEST: 400), or sends back prepared (UNESCAPE_AND_REDIRECT:
 * 307 to the new path and the query); gRPC clients cannot follow redirects and get the 400 (INTERNAL), as from Envoy.
 */
function pathReply(ctx: HttpContext, view: RequestView, verdict: PathVerdict): LocalReply {
  if (verdict === PATH_REDIRECT && !isGrpcContentType(headerGet(view.headers, 'content-type'))) {
    ctx.stats.inc(ctx.names.rqRedirectedWithNormalizedPath);
    return { status: 307, body: '', flags: '', location: view.path + view.query };
  }
  ctx.stats.inc(ctx.names.rqFailedPathNormalization);
  return { status: 400, body: 'invalid request path', flags: ResponseFlag.DownstreamProtocolError };
}

/** For tunnels: a host of the routed cluster, or the 503 UH reply (the request slot is then released). */
export function pickTunnelHost(target: RoutedRequest): Host | RefusedRequest {
  const host = target.cluster.pick({});
  if (host !== undefined) {
    target.cluster.stats.upstreamRequests++;
    return host;
  }
  target.cluster.releaseRequest();
  return {
    reply: { status: 503, body: 'no healthy upstream', flags: ResponseFlag.NoHealthyUpstream },
    scope: target.scope,
  };
}

const causedRoutes = new WeakMap<CompiledRoute, Map<OverloadCause, CompiledRoute>>();

/**
 * The 503 UO reply of a tripped breaker (`x-trellis-overloaded: true`) and the scope to send it with, which adds
 * `x-trellis-overload-cause: <cause>`: the header rides on a (memoized) copy of the route's response mutations, so
 * every local-reply form (HTTP/1.1, HTTP/2, gRPC) carries it without local-reply.ts knowing about causes.
 */
export function overloadReply(
  scope: ResponseScope,
  cause: OverloadCause,
  body = 'upstream overloaded',
): RefusedRequest {
  const reply: LocalReply = { status: 503, body, flags: ResponseFlag.UpstreamOverflow, overloaded: true };
  const route = scope.route;
  if (route === undefined) return { reply, scope };
  let byCause = causedRoutes.get(route);
  if (byCause === undefined) {
    byCause = new Map();
    causedRoutes.set(route, byCause);
  }
  let caused = byCause.get(cause);
  if (caused === undefined) {
    const ops = route.responseHeaders;
    const add = [...ops.add, { name: OVERLOAD_CAUSE_HEADER, value: cause, action: 'overwrite' as const }];
    caused = { ...route, responseHeaders: { add, remove: ops.remove } };
    byCause.set(cause, caused);
  }
  return { reply, scope: { table: scope.table, vhost: scope.vhost, route: caused } };
}
