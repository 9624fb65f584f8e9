// GET /explain: what this sidecar would do with one request, computed by the code its listeners run on its current
// config (the route table's virtual host choice and route matching, the route action, the clusters' hosts): the
// listener, the virtual host, the routes tried before the match and why each did not match, the matched route's
// action (weighted clusters, redirect or direct response), its timeout and retries, the HTTP filters of the
// connection manager, and per cluster the load-balancing policy and every host with its health, zone and weight.
import type { ExplainedCluster, Explanation } from '@trellis/node-contract';
import {
  FAULT_TYPE,
  type FaultConfig,
  type Fraction,
  type HttpConnectionManagerConfig,
  type ListenerConfig,
  type PerFilterConfigs,
  type SidecarConfig,
} from '../config/model.ts';
import { RequestView, splitAbsoluteForm } from '../http/message/request-view.ts';
import { RouteTable, routeMismatch } from '../http/routing/route-table.ts';
import type { Cluster } from '../upstream/cluster.ts';

export interface ExplainRequest {
  /** Absolute URL: `http://orders:8080/api/pay?x=1`. */
  url: string;
  method: string;
  /** Request headers as [name, value], names in any case. */
  headers: [string, string][];
  /** The listener to explain (default: the outbound HTTP listener). */
  listener?: string;
}

export interface ExplainDeps {
  config(): SidecarConfig;
  cluster(name: string): Cluster | undefined;
}

function httpListener(config: SidecarConfig, name: string | undefined): ListenerConfig | undefined {
  for (const l of config.listeners.values()) {
    if (l.filter.type !== 'http') continue;
    if (name === undefined ? l.direction === 'outbound' : l.name === name) return l;
  }
  return undefined;
}

function explainCluster(deps: ExplainDeps, name: string, weight: number): ExplainedCluster {
  const cluster = deps.cluster(name);
  return {
    name,
    weight,
    lbPolicy: cluster?.config.lbPolicy ?? 'unknown: no such cluster',
    hosts: (cluster?.hosts() ?? []).map((h) => ({
      address: h.key,
      zone: h.zone,
      weight: h.weight,
      health: h.healthFlags?.() ?? (h.healthy ? [] : ['failed_eds_health']),
    })),
  };
}

const percent = (f: Fraction): string => `${Number(((100 * f.numerator) / f.denominator).toFixed(4))}%`;

/** A fault config in words: what it does to which share of the requests. */
function describeFault(c: FaultConfig): string {
  const parts: string[] = [];
  if (c.abort !== undefined) {
    let status = "the status the request's fault header names";
    if (c.abort.httpStatus !== undefined) status = `HTTP ${c.abort.httpStatus}`;
    else if (c.abort.grpcStatus !== undefined) status = `gRPC status ${c.abort.grpcStatus}`;
    parts.push(`aborts ${percent(c.abort.percentage)} of requests with ${status}`);
  }
  if (c.delay !== undefined) {
    const by = c.delay.fixedDelayMs === undefined ? "the request's fault header" : `${c.delay.fixedDelayMs} ms`;
    parts.push(`delays ${percent(c.delay.percentage)} by ${by}`);
  }
  if (c.headers.length > 0) parts.push(`only requests with ${c.headers.map((h) => h.name).join(', ')} matching`);
  return parts.length === 0 ? 'no fault' : parts.join('; ');
}

/** Each HTTP filter with the config it takes for a route: the route's, else its virtual host's, else the listener's. */
function filtersFor(
  hcm: HttpConnectionManagerConfig,
  route: PerFilterConfigs | undefined,
  vhost: PerFilterConfigs | undefined,
): NonNullable<Explanation['route']>['filters'] {
  return hcm.httpFilters.map((f) => {
    const own = route?.[f.name];
    const shared = own === undefined ? vhost?.[f.name] : undefined;
    const typed = own ?? shared ?? f;
    const config = own !== undefined ? 'route' : shared !== undefined ? 'virtual host' : 'listener';
    return {
      name: f.name,
      config,
      ...(typed.typeName === FAULT_TYPE ? { does: describeFault(typed.config) } : {}),
    };
  });
}

/** The explanation, or an error message naming what is wrong with the request (→ 400) or missing from the config. */
export function explain(deps: ExplainDeps, req: ExplainRequest): Explanation | { error: string } {
  const split = splitAbsoluteForm(req.url);
  if (split === undefined) return { error: `url: expected an absolute http:// URL, got ${JSON.stringify(req.url)}` };
  const config = deps.config();
  const listener = httpListener(config, req.listener);
  if (listener === undefined)
    return { error: req.listener === undefined ? 'no outbound HTTP listener' : `no HTTP listener ${req.listener}` };
  const hcm = (listener.filter as { type: 'http'; http: HttpConnectionManagerConfig }).http;
  const routeConfig =
    hcm.routeConfig ?? (hcm.routeConfigName === undefined ? undefined : config.routes.get(hcm.routeConfigName));
  const base = {
    listener: {
      name: listener.name,
      address: listener.address,
      port: listener.port,
      filters: [...hcm.httpFilters.map((f) => f.name), 'envoy.filters.http.router'],
    },
    routeConfig: routeConfig?.name ?? hcm.routeConfigName ?? '',
    notMatched: [] as { route: string; reason: string }[],
  };
  if (routeConfig === undefined) return { ...base, noRoute: `route configuration ${base.routeConfig} not received` };
  const headers = req.headers.flatMap(([n, v]) => [n.toLowerCase(), v]);
  const view = new RequestView(req.method.toUpperCase(), 'http', split.authority, split.target, headers, false);
  const vhost = RouteTable.for(routeConfig).selectVirtualHost(view.authority);
  if (vhost === undefined) return { ...base, noRoute: `no virtual host has a domain matching ${view.authority}` };
  for (const route of vhost.routes) {
    const reason = routeMismatch(route, view);
    if (reason !== undefined) {
      // The CONNECT route every virtual host carries is not worth a line for other methods.
      if (route.path.kind !== 'connect' || view.isConnect) base.notMatched.push({ route: route.name, reason });
      continue;
    }
    const action = route.action;
    return {
      ...base,
      virtualHost: vhost.name,
      route: {
        name: route.name,
        action: action !== undefined ? 'forward' : route.redirect !== undefined ? 'redirect' : 'direct-response',
        ...(action === undefined ? {} : { timeoutMs: action.timeoutMs }),
        ...(action?.retry === undefined
          ? {}
          : {
              retry: {
                numRetries: action.retry.numRetries,
                perTryTimeoutMs: action.retry.perTryTimeoutMs,
                retryOn: action.retry.retryOn,
              },
            }),
        clusters: (action?.clusters ?? []).map((c) => explainCluster(deps, c.name, c.weight)),
        filters: filtersFor(hcm, route.perFilterConfig, vhost.perFilterConfig),
        ...(route.redirect === undefined ? {} : { redirect: route.redirect }),
        ...(route.direct === undefined ? {} : { directResponse: { status: route.direct.status } }),
      },
    };
  }
  return { ...base, virtualHost: vhost.name, noRoute: `no route of virtual host ${vhost.name} matches` };
}
