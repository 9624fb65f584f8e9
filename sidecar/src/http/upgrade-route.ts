// Routing for connections that leave HTTP (WebSocket upgrades, CONNECT tunnels): route, upgrade policy, breaker, host.
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import type { HttpContext } from './http-context.ts';
import { type LocalReply, ResponseFlag } from './local-reply.ts';
import type { RequestView } from './request-view.ts';
import type { ResponseScope } from './response-headers.ts';
import type { CompiledRoute } from './route-table.ts';
import { pickWeightedCluster } from './router.ts';

export interface UpgradeTarget {
  scope: ResponseScope;
  route: CompiledRoute;
  cluster: Cluster;
  host: Host;
}

/**
 * Resolves where an upgrade goes. On success the cluster's request slot is held (release it when the tunnel
 * closes); otherwise the local reply to send (with the scope reached so far, for response header mutations).
 */
export function routeUpgrade(
  ctx: HttpContext,
  view: RequestView,
  type: 'websocket' | 'connect',
): UpgradeTarget | { reply: LocalReply; scope: ResponseScope } {
  const scope: ResponseScope = { table: ctx.routeTable(), vhost: undefined, route: undefined };
  const match = scope.table?.match(view);
  if (match === undefined)
    return { reply: { status: 404, body: 'route not found', flags: ResponseFlag.NoRoute }, scope };
  scope.vhost = match.vhost;
  scope.route = match.route;
  const route = match.route;
  if (route.action === undefined) {
    const direct = route.direct ?? { status: 500, body: '' };
    return { reply: { status: direct.status, body: direct.body, flags: '' }, scope };
  }
  if (!ctx.upgradeAllowed(route, type)) {
    return {
      reply: { status: 403, body: `${type} not allowed on this route`, flags: ResponseFlag.DownstreamProtocolError },
      scope,
    };
  }
  const name = pickWeightedCluster(route.action);
  const cluster = name === undefined ? undefined : ctx.deps.clusters.get(name);
  if (cluster === undefined)
    return { reply: { status: 503, body: 'cluster not found', flags: ResponseFlag.NoCluster }, scope };
  if (!cluster.tryAcquireRequest()) {
    return {
      reply: { status: 503, body: 'upstream overloaded', flags: ResponseFlag.UpstreamOverflow, overloaded: true },
      scope,
    };
  }
  const host = cluster.pick({});
  if (host === undefined) {
    cluster.releaseRequest();
    return { reply: { status: 503, body: 'no healthy upstream', flags: ResponseFlag.NoHealthyUpstream }, scope };
  }
  cluster.stats.upstreamRequests++;
  return { scope, route, cluster, host };
}
