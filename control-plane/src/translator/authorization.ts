// AuthorizationPolicy → Envoy RBAC, for one service port's inbound (pure): HTTP ports get envoy.filters.http.rbac
// filters, TCP ports envoy.filters.network.rbac filters, in Istio's order (DENY, then ALLOW, then AUDIT as LOG);
// dry-run policies become shadow rules. Ports are decided here (the listener serves one port), so a rule for other
// ports never reaches the proxy. On TCP, HTTP-only conditions cannot be evaluated: an ALLOW rule needing one is
// dropped (it allows nothing), a DENY or AUDIT rule loses them (it matches more: fail closed). Request principals and
// JWT claims are read from what jwt_authn verified (its metadata); where there is no jwt_authn (TCP, proxyless gRPC)
// they are treated the same way.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type {
  AuthorizationAction,
  AuthorizationCondition,
  AuthorizationOperation,
  AuthorizationPolicyResource,
  AuthorizationRule,
  AuthorizationSource,
} from '../resources/types.ts';
import { byString } from './names.ts';

type Obj = Record<string, unknown>;

/** What one inbound listener carries for its service's policies. */
export interface InboundAuthorization {
  /** HTTP filters, first in the connection manager's chain. */
  http: Obj[];
  /** Network filters, before the TCP proxy. */
  network: Obj[];
}

export const NO_AUTHORIZATION: InboundAuthorization = { http: [], network: [] };

/** Where a rule is evaluated: the listener's service port, whether it carries HTTP, and JWTs (jwt_authn runs). */
interface Target {
  port: number;
  tcp: boolean;
  jwt: boolean;
}

/** Where jwt_authn puts the verified payload (its metadata namespace and key): RequestAuthentication sets it. */
export const JWT_METADATA = { filter: 'envoy.filters.http.jwt_authn', key: 'payload' } as const;

const ANY = { any: true } as const;

function orPermissions(list: Obj[]): Obj {
  if (list.some((p) => p['any'] === true)) return ANY;
  return list.length === 1 ? (list[0] as Obj) : { or_rules: { rules: list } };
}

function andPermissions(list: Obj[]): Obj {
  const rest = list.filter((p) => p['any'] !== true);
  if (rest.length === 0) return ANY;
  return rest.length === 1 ? (rest[0] as Obj) : { and_rules: { rules: rest } };
}

function orPrincipals(list: Obj[]): Obj {
  if (list.some((p) => p['any'] === true)) return ANY;
  return list.length === 1 ? (list[0] as Obj) : { or_ids: { ids: list } };
}

function andPrincipals(list: Obj[]): Obj {
  const rest = list.filter((p) => p['any'] !== true);
  if (rest.length === 0) return ANY;
  return rest.length === 1 ? (rest[0] as Obj) : { and_ids: { ids: rest } };
}

/** Istio's wildcard form as a StringMatcher: `*` (anything: undefined), `x*` prefix, `*x` suffix, else exact. */
function wildcard(v: string, ignoreCase = false): Obj | undefined {
  const flag = ignoreCase ? { ignore_case: true } : {};
  if (v === '*') return undefined;
  if (v.endsWith('*')) return { prefix: v.slice(0, -1), ...flag };
  if (v.startsWith('*')) return { suffix: v.slice(1), ...flag };
  return { exact: v, ...flag };
}

const SPIFFE = 'spiffe://';

/** A caller's SPIFFE id (with or without `spiffe://`; `*` at one end). */
function principalId(v: string): Obj {
  if (v === '*') return { authenticated: { principal_name: { prefix: SPIFFE } } };
  const id = v.startsWith(SPIFFE) ? v.slice(SPIFFE.length) : v;
  let matcher: Obj;
  if (id.endsWith('*')) matcher = { prefix: `${SPIFFE}${id.slice(0, -1)}` };
  else if (v.startsWith('*')) matcher = { suffix: v.slice(1) };
  else matcher = { exact: `${SPIFFE}${id}` };
  return { authenticated: { principal_name: matcher } };
}

/** A caller identity's namespace (`*` at one end), matched in its SPIFFE id (`…/ns/<namespace>/…`). */
function namespaceId(v: string): Obj {
  // Namespaces are DNS labels (validated): no regex metacharacters to escape.
  const pattern = v === '*' ? '[^/]+' : v.replace('*', '[^/]*');
  return { authenticated: { principal_name: { safe_regex: { regex: `spiffe://[^/]+/ns/${pattern}/.*` } } } };
}

function cidr(v: string): Obj {
  const [address = '', len] = v.split('/');
  const full = address.includes(':') ? 128 : 32;
  return { address_prefix: address, prefix_len: { value: len === undefined ? full : Number(len) } };
}

function header(name: string, matcher: Obj | undefined): Obj {
  return matcher === undefined
    ? { header: { name, present_match: true } }
    : { header: { name, string_match: matcher } };
}

/** A Host matched case-insensitively, with or without a port. */
function hostPermission(v: string): Obj {
  if (v === '*') return header(':authority', undefined);
  const lower = v.toLowerCase();
  if (lower.startsWith('*'))
    return orPermissions([
      header(':authority', { suffix: lower.slice(1), ignore_case: true }),
      header(':authority', { safe_regex: { regex: `.*${caseless(escapeRegex(lower.slice(1)))}:[0-9]+` } }),
    ]);
  if (lower.endsWith('*')) return header(':authority', { prefix: lower.slice(0, -1), ignore_case: true });
  return orPermissions([
    header(':authority', { exact: lower, ignore_case: true }),
    header(':authority', { prefix: `${lower}:`, ignore_case: true }),
  ]);
}

function escapeRegex(v: string): string {
  return v.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** A regex matching its letters in either case (`[aA]`): RE2 and JavaScript (gRPC) read it alike, unlike `(?i)`. */
function caseless(pattern: string): string {
  return pattern.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

function pathPermission(v: string): Obj {
  const matcher = wildcard(v);
  return matcher === undefined ? ANY : { url_path: { path: matcher } };
}

/** Values of a field, as one permission or principal: any of them (`not*`: none of them). */
function anyOf(values: readonly string[] | undefined, each: (v: string) => Obj, or: (l: Obj[]) => Obj) {
  return values === undefined ? undefined : or(values.map(each));
}

/** A claim of the verified JWT payload: a string, or a list holding one (`aud`, `groups`); undefined matcher: present. */
function claimPrincipal(path: readonly string[], matcher: Obj | undefined): Obj {
  const at = { filter: JWT_METADATA.filter, path: [JWT_METADATA.key, ...path].map((key) => ({ key })) };
  if (matcher === undefined) return { metadata: { ...at, value: { present_match: true } } };
  const value = { string_match: matcher };
  return orPrincipals([
    { metadata: { ...at, value } },
    { metadata: { ...at, value: { list_match: { one_of: value } } } },
  ]);
}

/**
 * `<iss>/<sub>`, `<iss>/*`, `*\/<sub>` or `*` (validated): the request principal `iss + "/" + sub` of a verified
 * JWT. Issuers (URLs) and subjects may both hold `/`: every split of an exact value is tried.
 */
function requestPrincipal(v: string): Obj {
  if (v === '*') return claimPrincipal(['iss'], undefined);
  if (v.startsWith('*/')) {
    const sub = v.slice(2);
    return orPrincipals([claimPrincipal(['sub'], { exact: sub }), claimPrincipal(['sub'], { suffix: `/${sub}` })]);
  }
  if (v.endsWith('/*'))
    return andPrincipals([claimPrincipal(['iss'], { exact: v.slice(0, -2) }), claimPrincipal(['sub'], undefined)]);
  const splits: Obj[] = [];
  for (let i = v.indexOf('/'); i > 0 && i < v.length - 1; i = v.indexOf('/', i + 1))
    splits.push(
      andPrincipals([
        claimPrincipal(['iss'], { exact: v.slice(0, i) }),
        claimPrincipal(['sub'], { exact: v.slice(i + 1) }),
      ]),
    );
  return orPrincipals(splits);
}

function sourcePrincipal(s: AuthorizationSource): Obj {
  const parts: Obj[] = [];
  const add = (values: string[] | undefined, each: (v: string) => Obj, negate: boolean): void => {
    const p = anyOf(values, each, orPrincipals);
    if (p !== undefined) parts.push(negate ? { not_id: p } : p);
  };
  add(s.principals, principalId, false);
  add(s.notPrincipals, principalId, true);
  add(s.namespaces, namespaceId, false);
  add(s.notNamespaces, namespaceId, true);
  add(s.ipBlocks, (v) => ({ direct_remote_ip: cidr(v) }), false);
  add(s.notIpBlocks, (v) => ({ direct_remote_ip: cidr(v) }), true);
  add(s.remoteIpBlocks, (v) => ({ remote_ip: cidr(v) }), false);
  add(s.notRemoteIpBlocks, (v) => ({ remote_ip: cidr(v) }), true);
  add(s.requestPrincipals, requestPrincipal, false);
  add(s.notRequestPrincipals, requestPrincipal, true);
  return andPrincipals(parts);
}

const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** An operation's permission on `target`; undefined when its ports leave this port out (it cannot match here). */
function operationPermission(o: AuthorizationOperation, target: Target): Obj | undefined {
  if (o.ports !== undefined && !o.ports.includes(target.port)) return undefined;
  if (o.notPorts?.includes(target.port) === true) return undefined;
  if (target.tcp) return ANY; // what is left is HTTP-only (stripped for TCP; see ruleFor)
  const parts: Obj[] = [];
  const add = (values: string[] | undefined, each: (v: string) => Obj, negate: boolean): void => {
    const p = anyOf(values, each, orPermissions);
    if (p !== undefined) parts.push(negate ? { not_rule: p } : p);
  };
  const method = (v: string): Obj => header(':method', wildcard(v));
  add(o.hosts, hostPermission, false);
  add(o.notHosts, hostPermission, true);
  add(o.methods, method, false);
  add(o.notMethods, method, true);
  add(o.paths, pathPermission, false);
  add(o.notPaths, pathPermission, true);
  return andPermissions(parts);
}

const HEADER_KEY = /^request\.headers\[(.+)\]$/;
const CLAIM_KEY = /^request\.auth\.claims((\[[^\][]+\])+)$/;

/** A condition on what jwt_authn verified. */
function isJwtKey(key: string): boolean {
  return key.startsWith('request.auth.');
}

/** A condition: a principal or permission part, 'match' / 'never' when decided here, or 'http' (HTTP-only). */
type ConditionPart = { principal: Obj } | { permission: Obj } | 'match' | 'never' | 'http';

function conditionPart(c: AuthorizationCondition, target: Target): ConditionPart {
  const header_ = HEADER_KEY.exec(c.key)?.[1];
  const both = (each: (v: string) => Obj, or: (l: Obj[]) => Obj, not: (p: Obj) => Obj): Obj => {
    const parts: Obj[] = [];
    if (c.values !== undefined) parts.push(or(c.values.map(each)));
    if (c.notValues !== undefined) parts.push(not(or(c.notValues.map(each))));
    return parts.length === 1 ? (parts[0] as Obj) : or === orPrincipals ? andPrincipals(parts) : andPermissions(parts);
  };
  const principal = (each: (v: string) => Obj) => ({
    principal: both(each, orPrincipals, (p) => ({ not_id: p })),
  });
  const permission = (each: (v: string) => Obj) => ({
    permission: both(each, orPermissions, (p) => ({ not_rule: p })),
  });
  if (header_ !== undefined) {
    if (target.tcp) return 'http';
    return permission((v) => header(header_.toLowerCase(), wildcard(v)));
  }
  if (isJwtKey(c.key)) {
    if (!target.jwt) return 'http';
    const claims = CLAIM_KEY.exec(c.key)?.[1];
    if (claims !== undefined) {
      const path = claims.slice(1, -1).split('][');
      return principal((v) => claimPrincipal(path, wildcard(v)));
    }
    if (c.key === 'request.auth.principal') return principal(requestPrincipal);
    const claim = c.key === 'request.auth.audiences' ? 'aud' : 'azp';
    return principal((v) => claimPrincipal([claim], wildcard(v)));
  }
  switch (c.key) {
    case 'source.ip':
      return principal((v) => ({ direct_remote_ip: cidr(v) }));
    case 'remote.ip':
      return principal((v) => ({ remote_ip: cidr(v) }));
    case 'source.namespace':
      return principal(namespaceId);
    case 'source.principal':
      return principal(principalId);
    case 'destination.ip':
      return permission((v) => ({ destination_ip: cidr(v) }));
    case 'connection.sni':
      return permission((v) => {
        const m = wildcard(v, true);
        return m === undefined ? ANY : { requested_server_name: m };
      });
    case 'destination.port': {
      const port = String(target.port);
      const ok = (c.values === undefined || c.values.includes(port)) && !(c.notValues ?? []).includes(port);
      return ok ? 'match' : 'never';
    }
    default:
      // Validation admits no other key.
      return 'never';
  }
}

function hasHttpFields(o: AuthorizationOperation): boolean {
  return HTTP_OPERATION_FIELDS.some((f) => o[f] !== undefined);
}

/** A source with request principals: it needs jwt_authn. */
function hasJwtFields(s: AuthorizationSource): boolean {
  return s.requestPrincipals !== undefined || s.notRequestPrincipals !== undefined;
}

/** The source without what `target` cannot evaluate (DENY and AUDIT rules: they match more). */
function evaluable(s: AuthorizationSource, target: Target): AuthorizationSource {
  if (target.jwt || !hasJwtFields(s)) return s;
  const { requestPrincipals: _r, notRequestPrincipals: _n, ...rest } = s;
  return rest;
}

/** A rule as an RBAC policy on `target`; undefined when it cannot match there. */
function ruleFor(rule: AuthorizationRule, target: Target, action: AuthorizationAction): Obj | undefined {
  if (action === 'ALLOW') {
    // An ALLOW rule that needs what this target cannot evaluate (HTTP on TCP, a JWT without jwt_authn) allows nothing.
    const http =
      target.tcp &&
      ((rule.to ?? []).some((t) => hasHttpFields(t.operation)) ||
        (rule.when ?? []).some((c) => HEADER_KEY.test(c.key)));
    const jwt =
      !target.jwt &&
      ((rule.from ?? []).some((f) => hasJwtFields(f.source)) || (rule.when ?? []).some((c) => isJwtKey(c.key)));
    if (http || jwt) return undefined;
  }
  const principals: Obj[] = [];
  const permissions: Obj[] = [];
  if (rule.from !== undefined)
    principals.push(orPrincipals(rule.from.map((f) => sourcePrincipal(evaluable(f.source, target)))));
  if (rule.to !== undefined) {
    const ops = rule.to.map((t) => operationPermission(t.operation, target)).filter((p): p is Obj => p !== undefined);
    if (ops.length === 0) return undefined;
    permissions.push(orPermissions(ops));
  }
  for (const c of rule.when ?? []) {
    const part = conditionPart(c, target);
    if (part === 'never') return undefined;
    if (part === 'match' || part === 'http') continue;
    if ('principal' in part) principals.push(part.principal);
    else permissions.push(part.permission);
  }
  return { permissions: [andPermissions(permissions)], principals: [andPrincipals(principals)] };
}

/** Every rule of the policies as named RBAC policies (`policy[<name>]-rule[<i>]`). */
function policiesFor(
  policies: readonly AuthorizationPolicyResource[],
  target: Target,
  action: AuthorizationAction,
): Obj {
  const out: Obj = {};
  for (const p of policies) {
    (p.spec.rules ?? []).forEach((rule, i) => {
      const policy = ruleFor(rule, target, action);
      if (policy !== undefined) out[`policy[${p.metadata.name}]-rule[${i}]`] = policy;
    });
  }
  return out;
}

const ENVOY_ACTION: Readonly<Record<AuthorizationAction, string>> = { DENY: 'DENY', ALLOW: 'ALLOW', AUDIT: 'LOG' };
const ORDER: readonly AuthorizationAction[] = ['DENY', 'ALLOW', 'AUDIT'];

/** The policies that apply to `service` (its own and the mesh-wide ones), by name. */
export function policiesOf(
  all: readonly AuthorizationPolicyResource[] | undefined,
  service: string,
): AuthorizationPolicyResource[] {
  return (all ?? [])
    .filter((p) => p.spec.selector === undefined || p.spec.selector.service === service)
    .sort((a, b) => byString(a.metadata.name, b.metadata.name));
}

/** The RBAC configs (one per action with policies) for one inbound port. */
function rbacConfigs(
  policies: readonly AuthorizationPolicyResource[],
  target: Target,
): { action: AuthorizationAction; config: Obj }[] {
  const out: { action: AuthorizationAction; config: Obj }[] = [];
  for (const action of ORDER) {
    const of = policies.filter((p) => (p.spec.action ?? 'ALLOW') === action);
    const enforced = of.filter((p) => p.spec.dryRun !== true);
    const dryRun = of.filter((p) => p.spec.dryRun === true);
    if (enforced.length === 0 && dryRun.length === 0) continue;
    const prefix = action.toLowerCase();
    const config: Obj = { rules_stat_prefix: `${prefix}_`, shadow_rules_stat_prefix: `dry_run_${prefix}_` };
    if (enforced.length > 0)
      config['rules'] = { action: ENVOY_ACTION[action], policies: policiesFor(enforced, target, action) };
    if (dryRun.length > 0)
      config['shadow_rules'] = { action: ENVOY_ACTION[action], policies: policiesFor(dryRun, target, action) };
    out.push({ action, config });
  }
  return out;
}

/** The RBAC HTTP filter configs (typed, named) for an HTTP port of a sidecar (whose jwt_authn runs first). */
export function rbacHttpFilters(policies: readonly AuthorizationPolicyResource[], port: number): Obj[] {
  return rbacConfigs(policies, { port, tcp: false, jwt: true }).map(({ action, config }) => ({
    name: `envoy.filters.http.rbac.${action.toLowerCase()}`,
    typed_config: { '@type': typeUrl(EXTENSION_TYPES.rbac), ...config },
  }));
}

/**
 * The RBAC filters of a proxyless gRPC server (gRFC A41): enforced DENY and ALLOW rules only. gRPC refuses a LOG
 * action and a filter without rules (it would NACK the Listener), and runs no shadow rules: AUDIT and dry-run
 * policies are left out. Not optional: a gRPC server without RBAC support NACKs rather than serving unguarded.
 */
export function proxylessRbacFilters(policies: readonly AuthorizationPolicyResource[], port: number): Obj[] {
  return rbacConfigs(policies, { port, tcp: false, jwt: false }).flatMap(({ action, config }) => {
    if (action === 'AUDIT' || config['rules'] === undefined) return [];
    return [
      {
        name: `envoy.filters.http.rbac.${action.toLowerCase()}`,
        typed_config: { '@type': typeUrl(EXTENSION_TYPES.rbac), rules: config['rules'] },
      },
    ];
  });
}

/** What an inbound listener of `port` carries for the service's policies. */
export function inboundAuthorization(
  policies: readonly AuthorizationPolicyResource[],
  port: number,
  tcp: boolean,
): InboundAuthorization {
  if (policies.length === 0) return NO_AUTHORIZATION;
  if (!tcp) return { http: rbacHttpFilters(policies, port), network: [] };
  return {
    http: [],
    // The network filter has no rules_stat_prefix: its stat_prefix tells the actions apart (inbound_deny.rbac.…).
    network: rbacConfigs(policies, { port, tcp: true, jwt: false }).map(
      ({ action, config: { rules_stat_prefix: _, ...config } }) => ({
        name: `envoy.filters.network.rbac.${action.toLowerCase()}`,
        typed_config: {
          '@type': typeUrl(EXTENSION_TYPES.networkRbac),
          stat_prefix: `inbound_${action.toLowerCase()}.`,
          ...config,
        },
      }),
    ),
  };
}
