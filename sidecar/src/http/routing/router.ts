// The route action applied to a matched request: weighted cluster choice, path/host rewrites, upstream request headers.
import type { HttpConnectionManagerConfig, RouteAction } from '../../config/model.ts';
import { pickWeightedCluster } from '../../upstream/lb/weighted-cluster.ts';
import { applyForwardedHeaders } from '../message/forwarded-headers.ts';
import { applyHeaderOps } from '../message/header-list.ts';
import { randomFloat } from '../message/random.ts';
import type { RequestView } from '../message/request-view.ts';
import type { ResponseScope } from './response-headers.ts';
import type { CompiledRoute } from './route-table.ts';

/** Picks a cluster by weight (one cluster: no random draw); the decoder summed the weights at config time. */
export function pickRouteCluster(action: RouteAction): string | undefined {
  return pickWeightedCluster(action.clusters, action.totalWeight, randomFloat);
}

/**
 * The origin-form target sent upstream: prefix or regex rewrite of the path, query kept; undefined when a regex
 * rewrite gave up on a hostile path (its searches past their bound): the request is refused, never half rewritten.
 */
export function upstreamPath(route: CompiledRoute, view: RequestView): string | undefined {
  const action = route.action;
  if (action === undefined) return view.path + view.query;
  let path = view.path;
  const p = route.path;
  if (route.prefixRewrite !== undefined && (p.kind === 'prefix' || p.kind === 'exact')) {
    path = route.prefixRewrite + path.slice(p.value.length);
    if (path === '' || path.charCodeAt(0) !== 47) path = `/${path}`;
  } else if (route.regexRewrite !== undefined) {
    const rewritten = route.regexRewrite.regex.replaceAll(path, route.regexRewrite.substitution);
    if (rewritten === undefined) return undefined;
    path = rewritten;
  }
  return path + view.query;
}

/** The authority sent upstream (Host / :authority): the route's host rewrite or the one received. */
export function upstreamAuthority(route: CompiledRoute, view: RequestView): string {
  return route.hostRewrite ?? view.authority;
}

/**
 * Turns view.headers into the upstream request headers: forwarding headers, then route, virtual host and
 * route-config mutations (their command operators read the addresses the view now carries). Returns the trusted
 * client address.
 */
export function prepareUpstreamHeaders(
  view: RequestView,
  scope: ResponseScope,
  hcm: HttpConnectionManagerConfig,
  peer: string,
): string {
  const client = applyForwardedHeaders(view.headers, peer, view.scheme, hcm);
  view.peerAddress = peer;
  view.clientAddress = client;
  if (scope.route !== undefined) applyHeaderOps(view.headers, scope.route.requestHeaders, view);
  if (scope.vhost !== undefined) applyHeaderOps(view.headers, scope.vhost.requestHeaders, view);
  if (scope.table !== undefined) applyHeaderOps(view.headers, scope.table.requestHeaders, view);
  return client;
}
