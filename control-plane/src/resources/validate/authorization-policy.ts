// Validates an AuthorizationPolicy spec (Istio's shape): selector, action, dryRun and rules of from / to / when, every
// value checked for what it will be matched as (SPIFFE ids, namespaces, CIDRs, hosts, ports, methods, paths).
import { isIP } from 'node:net';
import { MAX_POLICY_VALUES, policyValueCount } from '../authorization-size.ts';
import { field, type Issues, isDnsLabel } from './issues.ts';

export const AUTHORIZATION_POLICY_FIELDS = ['selector', 'action', 'rules', 'dryRun'];
const ACTIONS = ['ALLOW', 'DENY', 'AUDIT'] as const;
const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
  'requestPrincipals',
  'notRequestPrincipals',
];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];
/** Bounds that keep a policy's RBAC rules small: see also AUTHORIZATION_VALUES_PER_FILTER (references.ts). */
const MAX_RULES = 64;
const MAX_ENTRIES = 64;
const MAX_VALUES = 64;

/** A value with at most one `*`, at its start or its end (or `*` alone): Istio's wildcard form. */
function wildcardOk(v: string): boolean {
  const stars = v.split('*').length - 1;
  return stars === 0 || (stars === 1 && (v.startsWith('*') || v.endsWith('*')));
}

/** `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`. */
export function isCidr(v: string): boolean {
  const [address, len, ...rest] = v.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (len === undefined) return true;
  if (!/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

type Check = (v: string) => string | undefined;

const CHECKS: Readonly<Record<string, Check>> = {
  principal: (v) =>
    /\s/.test(v) || !wildcardOk(v) || v === ''
      ? 'a SPIFFE id such as cluster.local/ns/default/sa/web (* at one end)'
      : undefined,
  namespace: (v) =>
    v === '*' || (wildcardOk(v) && isDnsLabel(v.replace('*', 'x'))) ? undefined : 'a namespace (* at one end)',
  cidr: (v) => (isCidr(v) ? undefined : 'an IP address or CIDR such as 10.0.0.0/8'),
  host: (v) => (v !== '' && wildcardOk(v) && !/[\s/]/.test(v) ? undefined : 'a host name (* at one end)'),
  method: (v) => (/^[A-Z][A-Z-]*$/.test(v) || v === '*' ? undefined : 'an HTTP method such as GET'),
  path: (v) => {
    if (v.includes('{')) return 'a path (templates such as {*} and {**} are not supported)';
    return (v.startsWith('/') || v.startsWith('*')) && wildcardOk(v) && !/\s/.test(v)
      ? undefined
      : 'a path starting with / (* at one end)';
  },
  port: (v) => (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'a port from 1 to 65535'),
  any: (v) => (v === '' ? 'a non-empty string' : undefined),
  requestPrincipal: (v) => {
    if (v === '*') return undefined;
    const stars = v.split('*').length - 1;
    const ok =
      !/\s/.test(v) && v.includes('/') && (stars === 0 || (stars === 1 && (v.endsWith('/*') || v.startsWith('*/'))));
    return ok ? undefined : '<iss>/<sub> of a JWT, <iss>/*, */<sub> or *';
  },
};

/** The check for each Source / Operation field. */
const FIELD_CHECK: Readonly<Record<string, string>> = {
  principals: 'principal',
  notPrincipals: 'principal',
  namespaces: 'namespace',
  notNamespaces: 'namespace',
  ipBlocks: 'cidr',
  notIpBlocks: 'cidr',
  remoteIpBlocks: 'cidr',
  notRemoteIpBlocks: 'cidr',
  requestPrincipals: 'requestPrincipal',
  notRequestPrincipals: 'requestPrincipal',
  hosts: 'host',
  notHosts: 'host',
  methods: 'method',
  notMethods: 'method',
  paths: 'path',
  notPaths: 'path',
};

/** `when` keys and how their values are checked; request.headers[<name>] is handled apart. */
const CONDITION_KEYS: Readonly<Record<string, string>> = {
  'source.ip': 'cidr',
  'remote.ip': 'cidr',
  'source.namespace': 'namespace',
  'source.principal': 'principal',
  'destination.ip': 'cidr',
  'destination.port': 'port',
  'connection.sni': 'host',
};

const HEADER_KEY = /^request\.headers\[([A-Za-z0-9!#$%&'*+.^_`|~-]+)\]$/;
/** request.auth.claims[name] (nested: [a][b]), the JWT's verified claims. */
const CLAIM_KEY = /^request\.auth\.claims(\[[^\][]+\])+$/;
const AUTH_KEYS = ['request.auth.principal', 'request.auth.audiences', 'request.auth.presenter'];

function strings(issues: Issues, value: unknown, path: string, check: Check, max = MAX_VALUES): void {
  const list = issues.list(value, path, 'strings', true);
  if (list === undefined) return;
  if (list.length > max) issues.add(path, `at most ${max} entries, got ${list.length}`);
  list.forEach((v, i) => {
    if (!issues.string(v, field(path, i))) return;
    const problem = check(v);
    if (problem !== undefined) issues.expected(field(path, i), problem, v);
  });
}

function ports(issues: Issues, value: unknown, path: string): void {
  const list = issues.list(value, path, 'ports', true);
  if (list === undefined) return;
  if (list.length > MAX_VALUES) issues.add(path, `at most ${MAX_VALUES} entries, got ${list.length}`);
  for (const [i, v] of list.entries()) issues.integer(v, field(path, i), 1, 65535);
}

function source(issues: Issues, value: unknown, path: string): void {
  const s = issues.object(value, path, SOURCE_FIELDS);
  if (s === undefined) return;
  if (Object.keys(s).length === 0) issues.add(path, 'expected at least one field');
  for (const [key, v] of Object.entries(s)) {
    const kpath = field(path, key);
    if (FIELD_CHECK[key] !== undefined) strings(issues, v, kpath, CHECKS[FIELD_CHECK[key]] as Check);
  }
}

function operation(issues: Issues, value: unknown, path: string): void {
  const o = issues.object(value, path, OPERATION_FIELDS);
  if (o === undefined) return;
  if (Object.keys(o).length === 0) issues.add(path, 'expected at least one field');
  for (const [key, v] of Object.entries(o)) {
    const kpath = field(path, key);
    if (key === 'ports' || key === 'notPorts') ports(issues, v, kpath);
    else if (FIELD_CHECK[key] !== undefined) strings(issues, v, kpath, CHECKS[FIELD_CHECK[key]] as Check);
  }
}

function condition(issues: Issues, value: unknown, path: string): void {
  const c = issues.object(value, path, ['key', 'values', 'notValues']);
  if (c === undefined || !issues.required(c, path, 'key', 'a condition key such as request.headers[x-user]')) return;
  const key = c['key'];
  if (!issues.string(key, field(path, 'key'))) return;
  let check: Check | undefined;
  if (HEADER_KEY.test(key) || CLAIM_KEY.test(key) || AUTH_KEYS.slice(1).includes(key)) check = CHECKS['any'];
  else if (key === 'request.auth.principal') check = CHECKS['requestPrincipal'];
  else if (CONDITION_KEYS[key] !== undefined) check = CHECKS[CONDITION_KEYS[key]];
  if (check === undefined) {
    issues.expected(
      field(path, 'key'),
      `request.headers[<name>], request.auth.claims[<name>] or one of ${[...AUTH_KEYS, ...Object.keys(CONDITION_KEYS)].join('|')}`,
      key,
    );
    return;
  }
  if (c['values'] === undefined && c['notValues'] === undefined) issues.add(path, 'expected values or notValues');
  for (const k of ['values', 'notValues']) if (c[k] !== undefined) strings(issues, c[k], field(path, k), check);
}

function entries(
  issues: Issues,
  value: unknown,
  path: string,
  key: 'source' | 'operation',
  each: (issues: Issues, v: unknown, p: string) => void,
): void {
  const list = issues.list(value, path, `{ ${key}: … }`, true);
  if (list === undefined) return;
  if (list.length > MAX_ENTRIES) issues.add(path, `at most ${MAX_ENTRIES} entries, got ${list.length}`);
  list.forEach((entry, i) => {
    const e = issues.object(entry, field(path, i), [key]);
    if (e && issues.required(e, field(path, i), key, `a ${key}`)) each(issues, e[key], field(field(path, i), key));
  });
}

export function validateAuthorizationPolicySpec(spec: Record<string, unknown>, issues: Issues): void {
  if (spec['selector'] !== undefined) {
    const selector = issues.object(spec['selector'], 'spec.selector', ['service']);
    if (selector && issues.required(selector, 'spec.selector', 'service', 'the name of a Service'))
      issues.dnsLabel(selector['service'], 'spec.selector.service');
  }
  if (spec['action'] !== undefined) issues.oneOf(spec['action'], 'spec.action', ACTIONS);
  if (spec['dryRun'] !== undefined) issues.boolean(spec['dryRun'], 'spec.dryRun');
  if (spec['rules'] === undefined) return;
  const rules = issues.list(spec['rules'], 'spec.rules', 'rules');
  if (rules === undefined) return;
  const values = policyValueCount(spec);
  if (values > MAX_POLICY_VALUES)
    issues.add('spec.rules', `at most ${MAX_POLICY_VALUES} values in one policy, got ${values} (split it)`);
  if (rules.length > MAX_RULES) issues.add('spec.rules', `at most ${MAX_RULES} rules, got ${rules.length}`);
  rules.forEach((rule, i) => {
    const path = field('spec.rules', i);
    const r = issues.object(rule, path, ['from', 'to', 'when']);
    if (r === undefined) return;
    if (r['from'] !== undefined) entries(issues, r['from'], field(path, 'from'), 'source', source);
    if (r['to'] !== undefined) entries(issues, r['to'], field(path, 'to'), 'operation', operation);
    if (r['when'] !== undefined) {
      const when = issues.list(r['when'], field(path, 'when'), 'conditions', true);
      if (when !== undefined) {
        if (when.length > MAX_ENTRIES) issues.add(field(path, 'when'), `at most ${MAX_ENTRIES} conditions`);
        for (const [j, c] of when.entries()) condition(issues, c, field(field(path, 'when'), j));
      }
    }
  });
}
