// Envoy RBAC configs (the HTTP filter's and the network filter's) into the model: rules and shadow rules whose
// policies combine permissions and principals; every field the sidecar cannot evaluate is refused by name.
import { isIP } from 'node:net';
import { headerMatcher, stringMatcher } from './decode-matchers.ts';
import { at, enumName, fail, type Obj, optObj, reqObj, str, wrappedNum } from './decode-values.ts';
import type {
  CidrRange,
  MetadataMatch,
  MetadataValueMatch,
  NetworkRbacConfig,
  RbacConfig,
  RbacPermission,
  RbacPolicy,
  RbacPrincipal,
  RbacRules,
} from './model.ts';

/** How deep and wide a policy tree may grow (and/or/not nest): beyond, the config is refused, not evaluated. */
const MAX_DEPTH = 16;
const MAX_NODES = 65_536;

interface Budget {
  nodes: number;
}

function count(budget: Budget, depth: number, path: string): void {
  if (depth > MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`);
  budget.nodes++;
  if (budget.nodes > MAX_NODES) fail(path, `more than ${MAX_NODES} rules in one RBAC config`);
}

/** The one field set of a oneof, refusing none or several. */
function oneField(o: Obj, path: string, what: string): [string, unknown] {
  const set = Object.entries(o).filter(([, v]) => v !== undefined && v !== null);
  if (set.length === 0) fail(path, `expected one ${what} rule`);
  if (set.length > 1) fail(path, `expected one ${what} rule, got ${set.map(([k]) => k).join(', ')}`);
  return set[0] as [string, unknown];
}

function cidr(v: unknown, path: string): CidrRange {
  const o = reqObj(v, path);
  const address = str(o['address_prefix']);
  const family = isIP(address);
  if (family === 0) fail(at(path, 'address_prefix'), `expected an IP address, got ${JSON.stringify(address)}`);
  const prefixLen = wrappedNum(o['prefix_len'], at(path, 'prefix_len'), family === 4 ? 32 : 128);
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max)
    fail(at(path, 'prefix_len'), `expected 0 to ${max}, got ${prefixLen}`);
  return { address, prefixLen };
}

/** A PathMatcher ({ path: StringMatcher }). */
function pathMatcher(v: unknown, path: string) {
  const o = reqObj(v, path);
  return stringMatcher(reqObj(o['path'], at(path, 'path')), at(path, 'path'));
}

function valueMatcher(v: unknown, path: string, depth = 0): MetadataValueMatch {
  const o = reqObj(v, path);
  const [field, value] = oneField(o, path, 'value matcher');
  const fpath = at(path, field);
  switch (field) {
    case 'string_match':
      return { kind: 'string', matcher: stringMatcher(value, fpath) };
    case 'present_match':
      return { kind: 'present' };
    case 'bool_match':
      return { kind: 'bool', value: value === true };
    case 'list_match': {
      if (depth > 2) fail(fpath, 'nested too deep');
      const l = reqObj(value, fpath);
      return { kind: 'list', oneOf: valueMatcher(l['one_of'], at(fpath, 'one_of'), depth + 1) };
    }
    default:
      return fail(fpath, 'not supported by the sidecar (string_match, present_match, bool_match, list_match)');
  }
}

/** A MetadataMatcher on a filter's request metadata (what jwt_authn verified). */
function metadataMatcher(v: unknown, path: string): MetadataMatch {
  const o = reqObj(v, path);
  const filter = str(o['filter']);
  if (filter === '') fail(at(path, 'filter'), 'is required');
  const segments = list(o['path'], at(path, 'path'), (seg, spath) => {
    const key = str(seg['key']);
    if (key === '') fail(at(spath, 'key'), 'is required');
    return key;
  });
  if (segments.length === 0) fail(at(path, 'path'), 'needs at least one key');
  return { filter, path: segments, value: valueMatcher(o['value'], at(path, 'value')), invert: o['invert'] === true };
}

function list<T>(v: unknown, path: string, each: (o: Obj, path: string) => T): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'expected a list');
  return v.map((item, i) => each(reqObj(item, at(path, i)), at(path, i)));
}

function permission(o: Obj, path: string, budget: Budget, depth: number): RbacPermission {
  count(budget, depth, path);
  const [field, value] = oneField(o, path, 'permission');
  const fpath = at(path, field);
  const nested = (v: unknown, p: string): RbacPermission[] =>
    list(reqObj(v, p)['rules'], at(p, 'rules'), (r, rp) => permission(r, rp, budget, depth + 1));
  switch (field) {
    case 'any':
      if (value !== true) fail(fpath, 'expected true');
      return { kind: 'any' };
    case 'and_rules':
      return { kind: 'and', rules: nested(value, fpath) };
    case 'or_rules':
      return { kind: 'or', rules: nested(value, fpath) };
    case 'not_rule':
      return { kind: 'not', rule: permission(reqObj(value, fpath), fpath, budget, depth + 1) };
    case 'header':
      return { kind: 'header', header: headerMatcher(value, fpath) };
    case 'url_path':
      return { kind: 'path', path: pathMatcher(value, fpath) };
    case 'destination_ip':
      return { kind: 'destinationIp', cidr: cidr(value, fpath) };
    case 'destination_port': {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail(fpath, `expected a port, got ${String(value)}`);
      return { kind: 'destinationPort', port };
    }
    case 'destination_port_range': {
      const r = reqObj(value, fpath);
      const start = Number(r['start'] ?? 0);
      const end = Number(r['end'] ?? 0);
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > 65536 || start >= end)
        fail(fpath, `expected 0 <= start < end <= 65536, got [${start}, ${end})`);
      return { kind: 'destinationPortRange', start, end };
    }
    case 'requested_server_name':
      return { kind: 'serverName', name: stringMatcher(value, fpath) };
    default:
      return fail(fpath, 'not supported by the sidecar');
  }
}

function principal(o: Obj, path: string, budget: Budget, depth: number): RbacPrincipal {
  count(budget, depth, path);
  const [field, value] = oneField(o, path, 'principal');
  const fpath = at(path, field);
  const nested = (v: unknown, p: string): RbacPrincipal[] =>
    list(reqObj(v, p)['ids'], at(p, 'ids'), (r, rp) => principal(r, rp, budget, depth + 1));
  switch (field) {
    case 'any':
      if (value !== true) fail(fpath, 'expected true');
      return { kind: 'any' };
    case 'and_ids':
      return { kind: 'and', ids: nested(value, fpath) };
    case 'or_ids':
      return { kind: 'or', ids: nested(value, fpath) };
    case 'not_id':
      return { kind: 'not', id: principal(reqObj(value, fpath), fpath, budget, depth + 1) };
    case 'authenticated': {
      const a = reqObj(value, fpath);
      const name = optObj(a['principal_name'], at(fpath, 'principal_name'));
      return name === undefined
        ? { kind: 'authenticated' }
        : { kind: 'authenticated', name: stringMatcher(name, at(fpath, 'principal_name')) };
    }
    case 'direct_remote_ip':
    case 'source_ip':
      // source_ip (deprecated) is the connection's peer, as direct_remote_ip.
      return { kind: 'directRemoteIp', cidr: cidr(value, fpath) };
    case 'remote_ip':
      return { kind: 'remoteIp', cidr: cidr(value, fpath) };
    case 'header':
      return { kind: 'header', header: headerMatcher(value, fpath) };
    case 'url_path':
      return { kind: 'path', path: pathMatcher(value, fpath) };
    case 'metadata':
      return { kind: 'metadata', metadata: metadataMatcher(value, fpath) };
    default:
      return fail(fpath, 'not supported by the sidecar');
  }
}

const ACTIONS: ReadonlySet<string> = new Set(['ALLOW', 'DENY', 'LOG']);

function rules(v: unknown, path: string): RbacRules | undefined {
  const o = optObj(v, path);
  if (o === undefined) return undefined;
  const action = enumName(o['action'], 'ALLOW');
  if (!ACTIONS.has(action)) fail(at(path, 'action'), `expected ALLOW, DENY or LOG, got ${action}`);
  for (const field of ['audit_logging_options']) {
    if (o[field] !== undefined) fail(at(path, field), 'not supported by the sidecar');
  }
  const budget: Budget = { nodes: 0 };
  const map = optObj(o['policies'], at(path, 'policies')) ?? {};
  const policies = Object.keys(map)
    .sort()
    .map((name): RbacPolicy => {
      const ppath = at(at(path, 'policies'), name);
      const p = reqObj(map[name], ppath);
      for (const field of ['condition', 'checked_condition']) {
        if (p[field] !== undefined) fail(at(ppath, field), 'CEL conditions are not supported by the sidecar');
      }
      const permissions = list(p['permissions'], at(ppath, 'permissions'), (r, rp) => permission(r, rp, budget, 1));
      const principals = list(p['principals'], at(ppath, 'principals'), (r, rp) => principal(r, rp, budget, 1));
      if (permissions.length === 0) fail(at(ppath, 'permissions'), 'needs at least one permission');
      if (principals.length === 0) fail(at(ppath, 'principals'), 'needs at least one principal');
      return { name, permissions, principals };
    });
  return { action: action as RbacRules['action'], policies };
}

function permissionNeedsHttp(p: RbacPermission): boolean {
  if (p.kind === 'and' || p.kind === 'or') return p.rules.some(permissionNeedsHttp);
  if (p.kind === 'not') return permissionNeedsHttp(p.rule);
  return p.kind === 'header' || p.kind === 'path';
}

function principalNeedsHttp(p: RbacPrincipal): boolean {
  if (p.kind === 'and' || p.kind === 'or') return p.ids.some(principalNeedsHttp);
  if (p.kind === 'not') return principalNeedsHttp(p.id);
  return p.kind === 'header' || p.kind === 'path' || p.kind === 'metadata';
}

/** The fields both RBAC filters share; the unified matcher API is refused. */
function rbacCommon(o: Obj, path: string): RbacConfig {
  for (const field of ['matcher', 'shadow_matcher']) {
    if (o[field] !== undefined) fail(at(path, field), 'the matcher API is not supported by the sidecar (use rules)');
  }
  const config: RbacConfig = {
    rulesStatPrefix: str(o['rules_stat_prefix']),
    shadowRulesStatPrefix: str(o['shadow_rules_stat_prefix']),
  };
  const enforced = rules(o['rules'], at(path, 'rules'));
  const shadow = rules(o['shadow_rules'], at(path, 'shadow_rules'));
  if (enforced !== undefined) config.rules = enforced;
  if (shadow !== undefined) config.shadowRules = shadow;
  return config;
}

/** envoy.extensions.filters.http.rbac.v3.RBAC. */
export function rbacConfig(o: Obj, path: string): RbacConfig {
  if (o['track_per_rule_stats'] === true) fail(at(path, 'track_per_rule_stats'), 'not supported by the sidecar');
  return rbacCommon(o, path);
}

/** envoy.extensions.filters.network.rbac.v3.RBAC: enforced once per connection (ONE_TIME_ON_FIRST_BYTE). */
export function networkRbacConfig(o: Obj, path: string): NetworkRbacConfig {
  const statPrefix = str(o['stat_prefix']);
  if (statPrefix === '') fail(at(path, 'stat_prefix'), 'is required');
  if (enumName(o['enforcement_type'], 'ONE_TIME_ON_FIRST_BYTE') !== 'ONE_TIME_ON_FIRST_BYTE')
    fail(at(path, 'enforcement_type'), 'only ONE_TIME_ON_FIRST_BYTE is supported (the sidecar checks at accept)');
  if (o['delay_deny'] !== undefined) fail(at(path, 'delay_deny'), 'not supported by the sidecar');
  const config = rbacCommon(o, path);
  // A connection has no HTTP headers or paths.
  for (const [field, r] of [
    ['rules', config.rules],
    ['shadow_rules', config.shadowRules],
  ] as const) {
    for (const p of r?.policies ?? []) {
      if (p.permissions.some(permissionNeedsHttp) || p.principals.some(principalNeedsHttp))
        fail(
          at(at(at(path, field), 'policies'), p.name),
          'header, url_path and metadata rules need HTTP (the network RBAC filter sees a connection)',
        );
    }
  }
  return { ...config, statPrefix };
}
