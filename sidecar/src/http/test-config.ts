// Test fixtures: route, virtual host, route config, connection manager and listener configs built by hand.
import { compileRe2Rewrite, mustCompileRe2 } from '@trellis/re2';
import { HTTP_LIMIT_DEFAULTS } from '../config/decode-http-limits.ts';
import type {
  HashPolicy,
  HeaderMatch,
  HeaderOps,
  HttpConnectionManagerConfig,
  ListenerConfig,
  MirrorPolicy,
  PerFilterConfigs,
  QueryMatch,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfig,
  VirtualHost,
} from '../config/model.ts';

export const NO_HEADER_OPS: HeaderOps = { add: [], remove: [] };

export interface RouteSpec {
  name?: string;
  prefix?: string;
  exact?: string;
  /** An RE2 path pattern (a full match, as Envoy's safe_regex). */
  regex?: string;
  connect?: boolean;
  ignoreCase?: boolean;
  headers?: HeaderMatch[];
  query?: QueryMatch[];
  /** One cluster, or [name, weight] pairs. */
  cluster?: string;
  clusters?: [string, number][];
  direct?: { status: number; body: string };
  prefixRewrite?: string;
  /** Envoy regex_rewrite: an RE2 pattern and an RE2 rewrite string (\1, \0). */
  regexRewrite?: { pattern: string; substitution: string };
  hostRewrite?: string;
  timeoutMs?: number;
  idleTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  hashPolicy?: HashPolicy[];
  upgrades?: string[];
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  perFilterConfig?: PerFilterConfigs;
  redirect?: RedirectAction;
  mirrors?: MirrorPolicy[];
}

export function route(spec: RouteSpec): Route {
  const ignoreCase = spec.ignoreCase ?? false;
  const path: Route['match']['path'] =
    spec.connect === true
      ? { kind: 'connect' }
      : spec.regex !== undefined
        ? { kind: 'regex', regex: mustCompileRe2(spec.regex) }
        : spec.exact !== undefined
          ? { kind: 'exact', value: spec.exact, ignoreCase }
          : { kind: 'prefix', value: spec.prefix ?? '/', ignoreCase };
  const clusters = (spec.clusters ?? [[spec.cluster ?? 'web', 1]]).map(([name, weight]) => ({ name, weight }));
  const r: Route = {
    name: spec.name ?? 'route',
    match: { path, headers: spec.headers ?? [], query: spec.query ?? [] },
    action:
      spec.redirect !== undefined
        ? { type: 'redirect', redirect: spec.redirect }
        : spec.direct !== undefined
          ? { type: 'direct', status: spec.direct.status, body: spec.direct.body }
          : {
              type: 'route',
              route: {
                clusters,
                totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
                timeoutMs: spec.timeoutMs ?? 0,
                hashPolicy: spec.hashPolicy ?? [],
                upgrades: spec.upgrades ?? [],
              },
            },
    requestHeaders: spec.requestHeaders ?? NO_HEADER_OPS,
    responseHeaders: spec.responseHeaders ?? NO_HEADER_OPS,
  };
  if (spec.perFilterConfig !== undefined) r.perFilterConfig = spec.perFilterConfig;
  if (r.action.type === 'route') {
    const a = r.action.route;
    if (spec.prefixRewrite !== undefined) a.prefixRewrite = spec.prefixRewrite;
    if (spec.regexRewrite !== undefined) a.regexRewrite = regexRewrite(spec.regexRewrite);
    if (spec.hostRewrite !== undefined) a.hostRewrite = spec.hostRewrite;
    if (spec.idleTimeoutMs !== undefined) a.idleTimeoutMs = spec.idleTimeoutMs;
    if (spec.mirrors !== undefined) a.mirrors = spec.mirrors;
    if (spec.retry !== undefined) {
      a.retry = { retryOn: [], numRetries: 1, perTryTimeoutMs: 0, retriableStatusCodes: [], ...spec.retry };
    }
  }
  return r;
}

function regexRewrite(spec: { pattern: string; substitution: string }): NonNullable<RouteAction['regexRewrite']> {
  const regex = mustCompileRe2(spec.pattern);
  const rw = compileRe2Rewrite(spec.substitution, regex);
  if ('error' in rw) throw new Error(rw.error);
  return { regex, substitution: rw.rewrite };
}

export function vhost(name: string, domains: string[], routes: Route[], ops: Partial<VirtualHost> = {}): VirtualHost {
  return { name, domains, routes, requestHeaders: NO_HEADER_OPS, responseHeaders: NO_HEADER_OPS, ...ops };
}

export function routeConfig(virtualHosts: VirtualHost[], extra: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: 'routes',
    virtualHosts,
    requestHeaders: NO_HEADER_OPS,
    responseHeaders: NO_HEADER_OPS,
    internalOnlyHeaders: [],
    ...extra,
  };
}

export function hcmConfig(overrides: Partial<HttpConnectionManagerConfig> = {}): HttpConnectionManagerConfig {
  return {
    statPrefix: 'test',
    routeConfigName: 'routes',
    codec: 'auto',
    useRemoteAddress: true,
    xffNumTrustedHops: 0,
    generateRequestId: true,
    forwardClientCert: { mode: 'sanitize', setUri: false },
    serverName: 'trellis',
    serverHeaderTransformation: 'pass-through',
    requestTimeoutMs: 0,
    streamIdleTimeoutMs: 0,
    maxRequestHeadersKb: 60,
    maxHeadersCount: 100,
    pathNormalization: { normalizePath: false, mergeSlashes: false, escapedSlashes: 'keep-unchanged' },
    limits: { ...HTTP_LIMIT_DEFAULTS },
    upgrades: [],
    accessLogs: [],
    httpFilters: [],
    ...overrides,
  };
}

export function listenerConfig(hcm: HttpConnectionManagerConfig): ListenerConfig {
  return {
    name: 'http-test',
    address: '127.0.0.1',
    port: 0,
    direction: 'outbound',
    filter: { type: 'http', http: hcm },
    version: '1',
  };
}
