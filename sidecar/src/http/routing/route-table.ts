// A RouteConfig compiled once (cached per config object): virtual host lookup tables and precompiled route matchers.
import type { Re2 } from '@trellis/re2';
import type {
  HeaderOps,
  PerFilterConfigs,
  RateLimitSpec,
  RedirectAction,
  RouteAction,
  RouteConfig,
  RouteMatch,
  VirtualHost,
} from '../../config/model.ts';
import { isWireSafe, normalizeHeaderOps } from '../message/header-list.ts';
import { type CompiledHeaderMatch, compileHeaderMatches, headersMatch } from '../message/header-match.ts';
import type { RequestView } from '../message/request-view.ts';
import { compileStringMatcher, type StringPredicate } from '../message/string-matcher.ts';
import { type CompiledRetryPolicy, compileRetryPolicy } from './retry-policy.ts';

interface CompiledQueryMatch {
  name: string;
  test: StringPredicate | undefined;
}

type PathTest =
  | { kind: 'prefix' | 'exact'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: Re2 }
  | { kind: 'connect' };

export interface CompiledRoute {
  readonly name: string;
  readonly match: RouteMatch;
  readonly path: PathTest;
  readonly headers: readonly CompiledHeaderMatch[];
  readonly query: readonly CompiledQueryMatch[];
  /** The forwarding action, or undefined for a direct response. */
  readonly action: RouteAction | undefined;
  readonly direct: { status: number; body: string } | undefined;
  /** A redirect action (neither forwarding nor a direct response). */
  readonly redirect: RedirectAction | undefined;
  readonly regexRewrite: RouteAction['regexRewrite'];
  /** Rewrites that are safe to put on the wire (others are dropped at compile time). */
  readonly prefixRewrite: string | undefined;
  readonly hostRewrite: string | undefined;
  readonly retry: CompiledRetryPolicy | undefined;
  /** Lower-case upgrade types allowed on this route. */
  readonly upgrades: ReadonlySet<string>;
  readonly requestHeaders: HeaderOps;
  readonly responseHeaders: HeaderOps;
  /** HTTP filter configs for this route by filter name (typed_per_filter_config). */
  readonly perFilterConfig: PerFilterConfigs | undefined;
}

export interface CompiledVirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
  readonly requestHeaders: HeaderOps;
  readonly responseHeaders: HeaderOps;
  readonly perFilterConfig: PerFilterConfigs | undefined;
  /** `rate_limits` for routes without their own. */
  readonly rateLimits: readonly RateLimitSpec[] | undefined;
}

export interface RouteMatchResult {
  vhost: CompiledVirtualHost;
  route: CompiledRoute;
}

const cache = new WeakMap<RouteConfig, RouteTable>();
const HOST_CACHE_SIZE = 1024;

export class RouteTable {
  readonly config: RouteConfig;
  readonly requestHeaders: HeaderOps;
  readonly responseHeaders: HeaderOps;
  /** Lower-case headers stripped from responses to clients. */
  readonly internalOnlyHeaders: readonly string[];
  private readonly exact = new Map<string, CompiledVirtualHost>();
  /** [suffix, vhost] for '*suffix' domains, longest suffix first. */
  private readonly suffixes: [string, CompiledVirtualHost][] = [];
  /** [prefix, vhost] for 'prefix*' domains, longest prefix first. */
  private readonly prefixes: [string, CompiledVirtualHost][] = [];
  private readonly fallback: CompiledVirtualHost | undefined;
  /** Authority as received → virtual host (null: none); clients repeat the same few authorities. */
  private readonly hostCache = new Map<string, CompiledVirtualHost | null>();

  /** The compiled table for a config object, built on first use. */
  static for(config: RouteConfig): RouteTable {
    let table = cache.get(config);
    if (table === undefined) {
      table = new RouteTable(config);
      cache.set(config, table);
    }
    return table;
  }

  private constructor(config: RouteConfig) {
    this.config = config;
    this.requestHeaders = normalizeHeaderOps(config.requestHeaders);
    this.responseHeaders = normalizeHeaderOps(config.responseHeaders);
    this.internalOnlyHeaders = config.internalOnlyHeaders.map((h) => h.toLowerCase());
    let fallback: CompiledVirtualHost | undefined;
    for (const vh of config.virtualHosts) {
      const compiled = compileVirtualHost(vh);
      for (const raw of vh.domains) {
        const domain = raw.toLowerCase();
        if (domain === '*') fallback ??= compiled;
        else if (domain.startsWith('*')) this.suffixes.push([domain.slice(1), compiled]);
        else if (domain.endsWith('*')) this.prefixes.push([domain.slice(0, -1), compiled]);
        else if (!this.exact.has(domain)) this.exact.set(domain, compiled);
      }
    }
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    this.fallback = fallback;
  }

  /**
   * Envoy domain precedence (exact, longest suffix wildcard, longest prefix wildcard, '*'), port-insensitive:
   * exact 'host:port' then exact 'host', then the wildcards against 'host:port' then 'host', then '*'.
   */
  selectVirtualHost(authority: string): CompiledVirtualHost | undefined {
    const cached = this.hostCache.get(authority);
    if (cached !== undefined) return cached ?? undefined;
    const vhost = this.resolveVirtualHost(authority);
    if (this.hostCache.size >= HOST_CACHE_SIZE) this.hostCache.clear();
    this.hostCache.set(authority, vhost ?? null);
    return vhost;
  }

  private resolveVirtualHost(authority: string): CompiledVirtualHost | undefined {
    const full = authority.toLowerCase();
    const colon = full.lastIndexOf(':');
    const hostOnly = colon > 0 && colon > full.lastIndexOf(']') ? full.slice(0, colon) : undefined;
    return (
      this.exact.get(full) ??
      (hostOnly === undefined ? undefined : this.exact.get(hostOnly)) ??
      this.wildcard(full) ??
      (hostOnly === undefined ? undefined : this.wildcard(hostOnly)) ??
      this.fallback
    );
  }

  /** The first route of the selected virtual host that matches the request. */
  match(view: RequestView): RouteMatchResult | undefined {
    const vhost = this.selectVirtualHost(view.authority);
    if (vhost === undefined) return undefined;
    for (const route of vhost.routes) if (routeMatches(route, view)) return { vhost, route };
    return undefined;
  }

  private wildcard(host: string): CompiledVirtualHost | undefined {
    for (const [suffix, vh] of this.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
    for (const [prefix, vh] of this.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
    return undefined;
  }
}

export function routeMatches(route: CompiledRoute, view: RequestView): boolean {
  const p = route.path;
  if (p.kind === 'connect') {
    if (!view.isConnect) return false;
  } else {
    if (view.isConnect) return false;
    const path = view.path;
    if (p.kind === 'prefix') {
      if (!(p.ignoreCase ? path.toLowerCase().startsWith(p.value) : path.startsWith(p.value))) return false;
    } else if (p.kind === 'exact') {
      if ((p.ignoreCase ? path.toLowerCase() : path) !== p.value) return false;
    } else if (p.kind === 'regex' && !p.regex.fullMatch(path)) return false;
  }
  if (!headersMatch(route.headers, view)) return false;
  for (const q of route.query) {
    const value = view.queryParam(q.name);
    if (value === null || (q.test !== undefined && !q.test(value))) return false;
  }
  return true;
}

/**
 * Why `route` does not match the request (the first condition that fails, in routeMatches' order), undefined when it
 * matches: the admin's /explain, which must agree with routeMatches (a test holds them together).
 */
export function routeMismatch(route: CompiledRoute, view: RequestView): string | undefined {
  const p = route.path;
  if (p.kind === 'connect') {
    if (!view.isConnect) return 'matches CONNECT requests only';
  } else {
    if (view.isConnect) return 'does not match CONNECT requests';
    const path = view.path;
    const casing = p.kind !== 'regex' && p.ignoreCase ? ' (case-insensitive)' : '';
    if (p.kind === 'prefix' && !(p.ignoreCase ? path.toLowerCase().startsWith(p.value) : path.startsWith(p.value)))
      return `path ${JSON.stringify(path)} does not start with ${JSON.stringify(p.value)}${casing}`;
    if (p.kind === 'exact' && (p.ignoreCase ? path.toLowerCase() : path) !== p.value)
      return `path ${JSON.stringify(path)} is not ${JSON.stringify(p.value)}${casing}`;
    if (p.kind === 'regex' && !p.regex.fullMatch(path))
      return `path ${JSON.stringify(path)} does not match the regex ${JSON.stringify(p.regex.source)}`;
  }
  for (const h of route.headers) {
    if (headersMatch([h], view)) continue;
    const value = view.header(h.name);
    const inverted = h.invert ? ' (inverted)' : '';
    return value === undefined
      ? `header ${h.name} is absent${inverted}`
      : `header ${h.name}: ${JSON.stringify(value)} does not match${inverted}`;
  }
  for (const q of route.query) {
    const value = view.queryParam(q.name);
    if (value === null) return `query parameter ${q.name} is absent`;
    if (q.test !== undefined && !q.test(value))
      return `query parameter ${q.name}: ${JSON.stringify(value)} does not match`;
  }
  return undefined;
}

function compileVirtualHost(vh: VirtualHost): CompiledVirtualHost {
  return {
    name: vh.name,
    routes: vh.routes.map((r): CompiledRoute => {
      const m = r.match;
      const action = r.action.type === 'route' ? r.action.route : undefined;
      return {
        name: r.name,
        match: m,
        path: compilePath(m),
        headers: compileHeaderMatches(m.headers),
        query: m.query.map((q) => ({
          name: q.name,
          test: q.matcher === undefined ? undefined : compileStringMatcher(q.matcher),
        })),
        action,
        direct: r.action.type === 'direct' ? { status: r.action.status, body: r.action.body } : undefined,
        redirect: r.action.type === 'redirect' ? r.action.redirect : undefined,
        regexRewrite:
          action?.regexRewrite && isWireSafe(action.regexRewrite.substitution.source, false)
            ? action.regexRewrite
            : undefined,
        prefixRewrite: wireSafe(action?.prefixRewrite),
        hostRewrite: wireSafe(action?.hostRewrite),
        retry: action?.retry && compileRetryPolicy(action.retry),
        upgrades: new Set((action?.upgrades ?? []).map((u) => u.toLowerCase())),
        requestHeaders: normalizeHeaderOps(r.requestHeaders),
        responseHeaders: normalizeHeaderOps(r.responseHeaders),
        perFilterConfig: r.perFilterConfig,
      };
    }),
    requestHeaders: normalizeHeaderOps(vh.requestHeaders),
    responseHeaders: normalizeHeaderOps(vh.responseHeaders),
    perFilterConfig: vh.perFilterConfig,
    rateLimits: vh.rateLimits,
  };
}

function wireSafe(value: string | undefined): string | undefined {
  return value !== undefined && isWireSafe(value, false) ? value : undefined;
}

function compilePath(m: RouteMatch): PathTest {
  const p = m.path;
  if (p.kind === 'regex' || p.kind === 'connect') return p;
  return { kind: p.kind, value: p.ignoreCase ? p.value.toLowerCase() : p.value, ignoreCase: p.ignoreCase };
}
