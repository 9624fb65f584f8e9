// Decodes a RouteConfiguration (RDS, or inline in an HttpConnectionManager) into the model's RouteConfig.

import { compileRe2Rewrite } from '@trellis/re2';
import { corsPolicy, mergeCors, withCors } from './decode-cors.ts';
import { fraction } from './decode-fault.ts';
import { headerValue } from './decode-header-value.ts';
import { perFilterConfigs } from './decode-http-filters.ts';
import { regexMatcher, routeMatch } from './decode-matchers.ts';
import { rateLimits } from './decode-rate-limits.ts';
import {
  at,
  type Decoded,
  decodeResource,
  durationMs,
  enumName,
  fail,
  num,
  type Obj,
  objList,
  optObj,
  port,
  reqObj,
  str,
  strList,
  wrappedBool,
  wrappedNum,
} from './decode-values.ts';
import type {
  CorsPolicyConfig,
  HashPolicy,
  HeaderOps,
  HeaderValueOption,
  MirrorPolicy,
  PerFilterConfigs,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from './model.ts';

/** Envoy's route timeout when a route sets none. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

const APPEND_ACTIONS: Readonly<Record<string, HeaderValueOption['action']>> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add-if-absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
};

function headerValueOption(o: Obj, path: string, request: boolean): HeaderValueOption {
  const header = reqObj(o['header'], at(path, 'header'));
  const name = str(header['key']).toLowerCase();
  if (name === '') fail(at(at(path, 'header'), 'key'), 'is required');
  let action: HeaderValueOption['action'];
  if (o['append'] !== undefined) {
    action = wrappedBool(o['append'], at(path, 'append'), true) ? 'append' : 'overwrite';
  } else {
    const name = enumName(o['append_action'], 'APPEND_IF_EXISTS_OR_ADD');
    action = APPEND_ACTIONS[name] ?? fail(at(path, 'append_action'), `${name} is not supported`);
  }
  return { name, action, ...headerValue(str(header['value']), at(at(path, 'header'), 'value'), request) };
}

/** Header additions and removals from `<prefix>_headers_to_add` / `<prefix>_headers_to_remove`. */
function headerOps(o: Obj, prefix: 'request' | 'response', path: string): HeaderOps {
  const addField = `${prefix}_headers_to_add`;
  const removeField = `${prefix}_headers_to_remove`;
  return {
    add: objList(o[addField], at(path, addField)).map((h, i) =>
      headerValueOption(h, at(at(path, addField), i), prefix === 'request'),
    ),
    remove: strList(o[removeField], at(path, removeField)).map((h) => h.toLowerCase()),
  };
}

function retryPolicy(v: unknown, path: string): RetryPolicy | undefined {
  const o = optObj(v, path);
  if (!o) return undefined;
  const codes = o['retriable_status_codes'];
  const policy: RetryPolicy = {
    retryOn: str(o['retry_on'])
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    numRetries: wrappedNum(o['num_retries'], at(path, 'num_retries'), 1),
    perTryTimeoutMs: durationMs(o['per_try_timeout'], at(path, 'per_try_timeout'), 0),
    retriableStatusCodes: Array.isArray(codes)
      ? codes.map((c, i) => num(c, at(at(path, 'retriable_status_codes'), i), 0))
      : [],
  };
  const backOff = optObj(o['retry_back_off'], at(path, 'retry_back_off'));
  if (backOff !== undefined) {
    const bpath = at(path, 'retry_back_off');
    const baseMs = durationMs(backOff['base_interval'], at(bpath, 'base_interval'), 0);
    if (!(baseMs > 0)) fail(at(bpath, 'base_interval'), 'expected a duration > 0 (required in retry_back_off)');
    const maxMs = durationMs(backOff['max_interval'], at(bpath, 'max_interval'), baseMs * 10);
    if (maxMs < baseMs)
      fail(at(bpath, 'max_interval'), `expected at least base_interval (${baseMs}ms), got ${maxMs}ms`);
    policy.backOff = { baseMs, maxMs };
  }
  return policy;
}

function hashPolicy(o: Obj, path: string): HashPolicy {
  const terminal = o['terminal'] === true;
  const header = optObj(o['header'], at(path, 'header'));
  if (header) return { kind: 'header', name: str(header['header_name']).toLowerCase(), terminal };
  const cookie = optObj(o['cookie'], at(path, 'cookie'));
  if (cookie) {
    const policy: HashPolicy = { kind: 'cookie', name: str(cookie['name']), terminal };
    if (cookie['ttl'] !== undefined) policy.cookieTtlMs = durationMs(cookie['ttl'], at(at(path, 'cookie'), 'ttl'), 0);
    if (typeof cookie['path'] === 'string') policy.cookiePath = cookie['path'];
    return policy;
  }
  const props = optObj(o['connection_properties'], at(path, 'connection_properties'));
  if (props?.['source_ip'] === true) return { kind: 'source-ip', name: '', terminal };
  const query = optObj(o['query_parameter'], at(path, 'query_parameter'));
  if (query) return { kind: 'query', name: str(query['name']), terminal };
  return fail(path, 'unsupported hash policy (header, cookie, connection_properties.source_ip, query_parameter only)');
}

function upgrades(v: unknown, path: string): string[] {
  const out: string[] = [];
  for (const [i, u] of objList(v, path).entries()) {
    const type = str(u['upgrade_type']);
    if (type === '') fail(at(at(path, i), 'upgrade_type'), 'is required');
    if (!wrappedBool(u['enabled'], at(at(path, i), 'enabled'), true)) {
      fail(at(at(path, i), 'enabled'), 'disabling an upgrade per route is not supported');
    }
    out.push(type);
  }
  return out;
}

/** RouteAction fields the sidecar cannot honour. */
const UNSUPPORTED_ACTION_FIELDS = [
  'cluster_header',
  'cluster_specifier_plugin',
  'inline_cluster_specifier_plugin',
  'host_rewrite_header',
  'host_rewrite_path_regex',
  'metadata_match',
];

function clustersOf(o: Obj, path: string): WeightedCluster[] {
  if (typeof o['cluster'] === 'string' && o['cluster'] !== '') return [{ name: o['cluster'], weight: 1 }];
  const weighted = optObj(o['weighted_clusters'], at(path, 'weighted_clusters'));
  if (!weighted) return fail(path, 'needs cluster or weighted_clusters');
  const wpath = at(at(path, 'weighted_clusters'), 'clusters');
  const out = objList(weighted['clusters'], wpath).map((c, i) => {
    const name = str(c['name']);
    if (name === '') fail(at(at(wpath, i), 'name'), 'is required');
    for (const field of ['request_headers_to_add', 'response_headers_to_add', 'cluster_header', 'metadata_match']) {
      if (c[field] !== undefined) fail(at(at(wpath, i), field), 'not supported by the sidecar');
    }
    return { name, weight: wrappedNum(c['weight'], at(at(wpath, i), 'weight'), 0) };
  });
  if (out.length === 0) fail(wpath, 'needs at least one cluster');
  if (out.reduce((sum, c) => sum + c.weight, 0) <= 0) fail(wpath, 'weights must add up to more than 0');
  return out;
}

function routeAction(o: Obj, path: string, vhostRetry: RetryPolicy | undefined): RouteAction {
  for (const field of UNSUPPORTED_ACTION_FIELDS) {
    if (o[field] !== undefined) fail(at(path, field), 'not supported by the sidecar');
  }
  if (wrappedBool(o['auto_host_rewrite'], at(path, 'auto_host_rewrite'), false)) {
    fail(at(path, 'auto_host_rewrite'), 'not supported by the sidecar');
  }
  const clusters = clustersOf(o, path);
  const action: RouteAction = {
    clusters,
    totalWeight: clusters.reduce((sum, c) => sum + c.weight, 0),
    timeoutMs: durationMs(o['timeout'], at(path, 'timeout'), DEFAULT_ROUTE_TIMEOUT_MS),
    hashPolicy: objList(o['hash_policy'], at(path, 'hash_policy')).map((h, i) =>
      hashPolicy(h, at(at(path, 'hash_policy'), i)),
    ),
    upgrades: upgrades(o['upgrade_configs'], at(path, 'upgrade_configs')),
  };
  if (typeof o['prefix_rewrite'] === 'string') action.prefixRewrite = o['prefix_rewrite'];
  const rewrite = optObj(o['regex_rewrite'], at(path, 'regex_rewrite'));
  if (rewrite) {
    const rpath = at(path, 'regex_rewrite');
    const regex = regexMatcher(rewrite['pattern'], at(rpath, 'pattern'));
    const substitution = compileRe2Rewrite(str(rewrite['substitution']), regex);
    if ('error' in substitution) fail(at(rpath, 'substitution'), substitution.error);
    action.regexRewrite = { regex, substitution: substitution.rewrite };
  }
  if (typeof o['host_rewrite_literal'] === 'string') action.hostRewrite = o['host_rewrite_literal'];
  if (o['idle_timeout'] !== undefined)
    action.idleTimeoutMs = durationMs(o['idle_timeout'], at(path, 'idle_timeout'), 0);
  const retry = retryPolicy(o['retry_policy'], at(path, 'retry_policy')) ?? vhostRetry;
  if (retry) action.retry = retry;
  const mirrors = objList(o['request_mirror_policies'], at(path, 'request_mirror_policies')).map((m, i) =>
    mirrorPolicy(m, at(at(path, 'request_mirror_policies'), i)),
  );
  if (mirrors.length > 0) action.mirrors = mirrors;
  const limits = rateLimits(o['rate_limits'], at(path, 'rate_limits'));
  if (limits !== undefined) action.rateLimits = limits;
  return action;
}

function mirrorPolicy(o: Obj, path: string): MirrorPolicy {
  const cluster = str(o['cluster']);
  if (cluster === '') fail(at(path, 'cluster'), 'is required (cluster_header is not supported)');
  const share = optObj(o['runtime_fraction'], at(path, 'runtime_fraction'));
  return {
    cluster,
    fraction:
      share === undefined
        ? { numerator: 100, denominator: 100 }
        : fraction(share['default_value'], at(at(path, 'runtime_fraction'), 'default_value')),
    shadowSuffix: o['disable_shadow_host_suffix_append'] !== true,
  };
}

function directResponse(o: Obj, path: string): { type: 'direct'; status: number; body: string } {
  const status = num(o['status'], at(path, 'status'), 0);
  if (!Number.isInteger(status) || status < 200 || status > 599) fail(at(path, 'status'), 'expected 200-599');
  const body = optObj(o['body'], at(path, 'body'));
  if (body && (body['filename'] !== undefined || body['environment_variable'] !== undefined)) {
    fail(at(path, 'body'), 'only inline_string and inline_bytes bodies are supported');
  }
  const inlineBytes = body?.['inline_bytes'];
  const text =
    typeof inlineBytes === 'string'
      ? Buffer.from(inlineBytes, 'base64').toString('utf8')
      : str(body?.['inline_string']);
  return { type: 'direct', status, body: text };
}

/** What a Location may carry as is: visible ASCII, no spaces. */
const VISIBLE = /^[\x21-\x7e]*$/;

const REDIRECT_CODES: Readonly<Record<string, number>> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function redirectAction(o: Obj, path: string): { type: 'redirect'; redirect: RedirectAction } {
  if (o['regex_rewrite'] !== undefined)
    fail(at(path, 'regex_rewrite'), 'regex rewrites in redirects are not supported');
  const code = enumName(o['response_code'], 'MOVED_PERMANENTLY');
  const status = REDIRECT_CODES[code] ?? fail(at(path, 'response_code'), `${code} is not a redirect code`);
  const redirect: RedirectAction = { status, stripQuery: o['strip_query'] === true };
  const scheme = str(o['scheme_redirect']);
  if (scheme !== '') {
    if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) fail(at(path, 'scheme_redirect'), `not a URL scheme: ${scheme}`);
    redirect.scheme = scheme.toLowerCase();
  } else if (o['https_redirect'] === true) redirect.scheme = 'https';
  const host = str(o['host_redirect']);
  if (host !== '') {
    if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host)) fail(at(path, 'host_redirect'), `not a host: ${host}`);
    redirect.host = host;
  }
  if (o['port_redirect'] !== undefined && o['port_redirect'] !== 0) {
    redirect.port = port(o['port_redirect'], at(path, 'port_redirect'));
  }
  const pathRedirect = str(o['path_redirect']);
  const prefix = o['prefix_rewrite'];
  if (pathRedirect !== '') {
    if (!pathRedirect.startsWith('/') || !VISIBLE.test(pathRedirect))
      fail(at(path, 'path_redirect'), 'expected a path starting with / (visible ASCII)');
    redirect.path = pathRedirect;
  } else if (typeof prefix === 'string') {
    if (!VISIBLE.test(prefix)) fail(at(path, 'prefix_rewrite'), 'expected visible ASCII');
    redirect.prefix = prefix;
  }
  return { type: 'redirect', redirect };
}

/** What a virtual host hands its routes: the retry policy and the filter configs they fall back to. */
interface VhostDefaults {
  retry: RetryPolicy | undefined;
  perFilterConfig: PerFilterConfigs | undefined;
  /** The legacy `cors` field. */
  cors: CorsPolicyConfig | undefined;
}

function route(o: Obj, path: string, vhost: VhostDefaults): Route {
  const vhostRetry = vhost.retry;
  const match = routeMatch(o['match'], at(path, 'match'));
  let action: Route['action'];
  const forward = optObj(o['route'], at(path, 'route'));
  const direct = optObj(o['direct_response'], at(path, 'direct_response'));
  if (forward) action = { type: 'route', route: routeAction(forward, at(path, 'route'), vhostRetry) };
  else if (direct) action = directResponse(direct, at(path, 'direct_response'));
  else if (o['redirect'] !== undefined)
    action = redirectAction(reqObj(o['redirect'], at(path, 'redirect')), at(path, 'redirect'));
  else fail(path, 'needs a route, redirect or direct_response action');
  const out: Route = {
    name: str(o['name']),
    match,
    action,
    requestHeaders: headerOps(o, 'request', path),
    responseHeaders: headerOps(o, 'response', path),
  };
  const routeCors =
    forward?.['cors'] === undefined
      ? undefined
      : corsPolicy(reqObj(forward['cors'], at(path, 'route.cors')), at(path, 'route.cors'));
  const legacyCors =
    routeCors !== undefined && vhost.cors !== undefined ? mergeCors(routeCors, vhost.cors) : (routeCors ?? vhost.cors);
  const filters = withCors(
    perFilterConfigs(o['typed_per_filter_config'], at(path, 'typed_per_filter_config')),
    vhost.perFilterConfig,
    legacyCors,
  );
  if (filters !== undefined) out.perFilterConfig = filters;
  return out;
}

/** Envoy accepts '*', a '*.suffix' or 'prefix.*' wildcard, or an exact domain. */
function checkDomain(domain: string, path: string): void {
  if (domain === '') fail(path, 'a domain cannot be empty');
  const stars = domain.split('*').length - 1;
  if (stars === 0 || domain === '*') return;
  if (stars === 1 && (domain.startsWith('*') || domain.endsWith('*'))) return;
  fail(path, `invalid wildcard domain ${JSON.stringify(domain)}`);
}

function virtualHost(o: Obj, path: string, seen: Map<string, string>): VirtualHost {
  const name = str(o['name']);
  const tls = enumName(o['require_tls'], 'NONE');
  if (tls !== 'NONE') fail(at(path, 'require_tls'), 'TLS is not supported by the sidecar yet');
  const domains = strList(o['domains'], at(path, 'domains')).map((d) => d.toLowerCase());
  if (domains.length === 0) fail(at(path, 'domains'), 'needs at least one domain');
  for (const [i, d] of domains.entries()) {
    checkDomain(d, at(at(path, 'domains'), i));
    const other = seen.get(d);
    if (other !== undefined) fail(at(at(path, 'domains'), i), `domain ${d} is also in virtual host ${other}`);
    seen.set(d, name);
  }
  const filters = perFilterConfigs(o['typed_per_filter_config'], at(path, 'typed_per_filter_config'));
  const defaults: VhostDefaults = {
    retry: retryPolicy(o['retry_policy'], at(path, 'retry_policy')),
    perFilterConfig: filters,
    cors: o['cors'] === undefined ? undefined : corsPolicy(reqObj(o['cors'], at(path, 'cors')), at(path, 'cors')),
  };
  const out: VirtualHost = {
    name,
    domains,
    routes: objList(o['routes'], at(path, 'routes')).map((r, i) => route(r, at(at(path, 'routes'), i), defaults)),
    requestHeaders: headerOps(o, 'request', path),
    responseHeaders: headerOps(o, 'response', path),
  };
  if (filters !== undefined) out.perFilterConfig = filters;
  const limits = rateLimits(o['rate_limits'], at(path, 'rate_limits'));
  if (limits !== undefined) out.rateLimits = limits;
  return out;
}

/** A RouteConfiguration object (throws DecodeError); `path` prefixes field paths when it is inline. */
export function routeConfig(o: Obj, path: string, version: string): RouteConfig {
  if (o['vhds'] !== undefined) fail(at(path, 'vhds'), 'VHDS is not supported');
  const seen = new Map<string, string>();
  return {
    name: str(o['name']),
    virtualHosts: objList(o['virtual_hosts'], at(path, 'virtual_hosts')).map((v, i) =>
      virtualHost(v, at(at(path, 'virtual_hosts'), i), seen),
    ),
    requestHeaders: headerOps(o, 'request', path),
    responseHeaders: headerOps(o, 'response', path),
    internalOnlyHeaders: strList(o['internal_only_headers'], at(path, 'internal_only_headers')).map((h) =>
      h.toLowerCase(),
    ),
    version,
  };
}

/** Decodes an RDS resource. */
export function decodeRouteConfiguration(o: Obj, version: string): Decoded<RouteConfig> {
  return decodeResource('route configuration', str(o['name']), () => routeConfig(o, '', version));
}
