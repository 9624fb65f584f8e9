// Validates a Route spec: hosts, HTTP match rules, rewrites, weighted destinations, timeouts, retries, header ops,
// fault injection.
import { compileRe2Rewrite } from '@trellis/re2';
import { validateFault } from './fault.ts';
import { describe, field, type Issues, isRecord } from './issues.ts';
import { validateRetries } from './retries.ts';

const RULE_FIELDS = [
  'name',
  'match',
  'rewrite',
  'route',
  'redirect',
  'directResponse',
  'timeout',
  'idleTimeout',
  'retries',
  'headers',
  'fault',
  'mirror',
  'cors',
];
const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** What a Location may carry as is: visible ASCII, no spaces. */
const VISIBLE = /^[\x21-\x7e]+$/;
const MATCH_FIELDS = ['pathPrefix', 'pathExact', 'pathRegex', 'headers', 'queryParams', 'cookies', 'methods'];
const STRING_MATCH_FIELDS = ['exact', 'prefix', 'regex', 'present'];
const HOST = /^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:\d{1,5})?$|^\*$/;
const METHOD = /^[A-Z]+$/;

export const ROUTE_FIELDS = ['hosts', 'gateways', 'http'];

export function validateRouteSpec(spec: Record<string, unknown>, issues: Issues): void {
  if (issues.required(spec, 'spec', 'hosts', 'a non-empty list of host names')) {
    const hosts = issues.list(spec['hosts'], 'spec.hosts', 'host names', true);
    const seen = new Set<string>();
    hosts?.forEach((h, i) => {
      const at = field('spec.hosts', i);
      if (typeof h !== 'string' || !HOST.test(h)) issues.expected(at, 'a host name such as orders or *.example.com', h);
      else if (seen.has(h.toLowerCase())) issues.add(at, `duplicate host "${h}"`);
      else seen.add(h.toLowerCase());
    });
  }
  if (spec['gateways'] !== undefined) {
    const gateways = issues.list(spec['gateways'], 'spec.gateways', 'mesh or Gateway names', true);
    for (const [i, g] of (gateways ?? []).entries()) issues.dnsLabel(g, field('spec.gateways', i));
  }
  if (issues.required(spec, 'spec', 'http', 'a non-empty list of HTTP rules')) {
    const rules = issues.list(spec['http'], 'spec.http', 'HTTP rules', true);
    rules?.forEach((r, i) => {
      validateRule(r, field('spec.http', i), issues);
    });
  }
}

function validateRule(value: unknown, path: string, issues: Issues): void {
  const rule = issues.object(value, path, RULE_FIELDS);
  if (!rule) return;
  if (rule['name'] !== undefined) issues.string(rule['name'], field(path, 'name'));
  if (rule['match'] !== undefined) {
    const matches = issues.list(rule['match'], field(path, 'match'), 'matches');
    matches?.forEach((m, i) => {
      validateMatch(m, field(field(path, 'match'), i), issues);
    });
  }
  if (rule['rewrite'] !== undefined) validateRewrite(rule['rewrite'], field(path, 'rewrite'), issues);
  issues.exactlyOne(rule, path, ['route', 'redirect', 'directResponse']);
  if (rule['route'] === undefined) {
    // A rule the proxy answers itself forwards nothing: what shapes forwarding has no effect there.
    for (const key of ['rewrite', 'timeout', 'idleTimeout', 'retries']) {
      if (rule[key] !== undefined)
        issues.add(field(path, key), 'applies to forwarded requests only: the rule needs route');
    }
  }
  if (rule['redirect'] !== undefined) validateRedirect(rule['redirect'], field(path, 'redirect'), issues);
  if (rule['directResponse'] !== undefined) {
    const at = field(path, 'directResponse');
    const d = issues.object(rule['directResponse'], at, ['status', 'body']);
    if (d && issues.required(d, at, 'status', 'an HTTP status 200-599'))
      issues.integer(d['status'], field(at, 'status'), 200, 599);
    if (d?.['body'] !== undefined) issues.string(d['body'], field(at, 'body'), false);
  }
  if (rule['route'] !== undefined) {
    const dests = issues.list(
      rule['route'],
      field(path, 'route'),
      'destinations ({service, port, subset, weight})',
      true,
    );
    if (dests) validateDestinations(dests, field(path, 'route'), issues);
  }
  if (rule['timeout'] !== undefined) issues.duration(rule['timeout'], field(path, 'timeout'));
  if (rule['idleTimeout'] !== undefined) issues.duration(rule['idleTimeout'], field(path, 'idleTimeout'));
  if (rule['retries'] !== undefined) validateRetries(rule['retries'], field(path, 'retries'), issues);
  if (rule['fault'] !== undefined) validateFault(rule['fault'], field(path, 'fault'), issues);
  if (rule['cors'] !== undefined) {
    if (rule['route'] === undefined)
      issues.add(field(path, 'cors'), 'applies to forwarded requests only: the rule needs route');
    validateCors(rule['cors'], field(path, 'cors'), issues);
  }
  if (rule['mirror'] !== undefined) {
    const at = field(path, 'mirror');
    if (rule['route'] === undefined) issues.add(at, 'mirrors copy forwarded requests: the rule needs route');
    const m = issues.object(rule['mirror'], at, ['service', 'port', 'subset', 'percent']);
    if (m) {
      if (issues.required(m, at, 'service', 'a service name')) issues.dnsLabel(m['service'], field(at, 'service'));
      if (m['port'] !== undefined) issues.integer(m['port'], field(at, 'port'), 1, 65535);
      if (m['subset'] !== undefined) issues.dnsLabel(m['subset'], field(at, 'subset'));
      if (m['percent'] !== undefined) issues.number(m['percent'], field(at, 'percent'), 0, 100);
    }
  }
  if (rule['headers'] !== undefined) {
    const headers = issues.object(rule['headers'], field(path, 'headers'), ['request', 'response']);
    for (const side of ['request', 'response']) {
      if (headers?.[side] !== undefined) validateHeaderOps(headers[side], field(field(path, 'headers'), side), issues);
    }
  }
}

function validateRedirect(value: unknown, path: string, issues: Issues): void {
  const r = issues.object(value, path, ['scheme', 'host', 'port', 'path', 'prefix', 'code', 'stripQuery']);
  if (!r) return;
  if (['scheme', 'host', 'port', 'path', 'prefix'].every((k) => r[k] === undefined))
    issues.add(path, 'needs scheme, host, port, path or prefix (a redirect to the same URL would loop)');
  issues.atMostOne(r, path, ['path', 'prefix']);
  if (r['scheme'] !== undefined && (typeof r['scheme'] !== 'string' || !/^[a-z][a-z0-9+.-]*$/i.test(r['scheme'])))
    issues.expected(field(path, 'scheme'), 'a URL scheme such as https', r['scheme']);
  if (r['host'] !== undefined && (typeof r['host'] !== 'string' || !/^[A-Za-z0-9.-]+$/.test(r['host'])))
    issues.expected(field(path, 'host'), 'a host name', r['host']);
  if (r['port'] !== undefined) issues.integer(r['port'], field(path, 'port'), 1, 65535);
  for (const key of ['path', 'prefix']) {
    const v = r[key];
    if (v !== undefined && (typeof v !== 'string' || !v.startsWith('/') || !VISIBLE.test(v)))
      issues.expected(field(path, key), 'a path starting with "/" (no spaces)', v);
  }
  if (r['code'] !== undefined && !REDIRECT_CODES.includes(r['code'] as number))
    issues.expected(field(path, 'code'), REDIRECT_CODES.join(', '), r['code']);
  if (r['stripQuery'] !== undefined) issues.boolean(r['stripQuery'], field(path, 'stripQuery'));
}

export function validateMatch(value: unknown, path: string, issues: Issues): void {
  const m = issues.object(value, path, MATCH_FIELDS);
  if (!m) return;
  issues.atMostOne(m, path, ['pathPrefix', 'pathExact', 'pathRegex']);
  for (const key of ['pathPrefix', 'pathExact']) {
    const v = m[key];
    if (v !== undefined && (typeof v !== 'string' || !v.startsWith('/'))) {
      issues.expected(field(path, key), 'a path starting with "/"', v);
    }
  }
  if (m['pathRegex'] !== undefined) issues.regex(m['pathRegex'], field(path, 'pathRegex'));
  for (const key of ['headers', 'queryParams', 'cookies']) {
    const map = m[key];
    if (map === undefined) continue;
    if (!isRecord(map)) {
      issues.expected(field(path, key), 'a mapping of names to matches ({exact|prefix|regex|present})', map);
      continue;
    }
    for (const [name, sm] of Object.entries(map)) validateStringMatch(sm, field(field(path, key), name), issues);
  }
  if (m['methods'] !== undefined) {
    const methods = issues.list(m['methods'], field(path, 'methods'), 'HTTP methods', true);
    methods?.forEach((v, i) => {
      if (typeof v !== 'string' || !METHOD.test(v))
        issues.expected(field(field(path, 'methods'), i), 'an HTTP method such as GET', v);
    });
  }
}

/** Methods and header names: tokens (RFC 9110), or `*` alone. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function validateCors(value: unknown, path: string, issues: Issues): void {
  const c = issues.object(value, path, [
    'allowOrigins',
    'allowMethods',
    'allowHeaders',
    'exposeHeaders',
    'maxAge',
    'allowCredentials',
  ]);
  if (!c) return;
  if (issues.required(c, path, 'allowOrigins', 'a non-empty list of origin matches ({exact|prefix|regex})')) {
    const origins = issues.list(c['allowOrigins'], field(path, 'allowOrigins'), 'origin matches', true);
    origins?.forEach((o, i) => {
      const at = field(field(path, 'allowOrigins'), i);
      if (isRecord(o) && o['present'] !== undefined) issues.add(field(at, 'present'), 'an origin match needs a value');
      else validateStringMatch(o, at, issues);
    });
  }
  for (const key of ['allowMethods', 'allowHeaders', 'exposeHeaders']) {
    if (c[key] === undefined) continue;
    const list = issues.list(c[key], field(path, key), 'names', true);
    list?.forEach((v, i) => {
      if (typeof v !== 'string' || !TOKEN.test(v))
        issues.expected(field(field(path, key), i), 'a token such as GET or x-token', v);
    });
  }
  if (c['maxAge'] !== undefined) issues.duration(c['maxAge'], field(path, 'maxAge'));
  if (c['allowCredentials'] !== undefined) issues.boolean(c['allowCredentials'], field(path, 'allowCredentials'));
}

function validateStringMatch(value: unknown, path: string, issues: Issues): void {
  const sm = issues.object(value, path, STRING_MATCH_FIELDS);
  if (!sm) return;
  issues.exactlyOne(sm, path, STRING_MATCH_FIELDS);
  for (const key of ['exact', 'prefix']) {
    if (sm[key] !== undefined) issues.string(sm[key], field(path, key), false);
  }
  if (sm['regex'] !== undefined) issues.regex(sm['regex'], field(path, 'regex'));
  if (sm['present'] !== undefined) issues.boolean(sm['present'], field(path, 'present'));
}

function validateRewrite(value: unknown, path: string, issues: Issues): void {
  const rw = issues.object(value, path, ['pathPrefix', 'regex', 'host']);
  if (!rw) return;
  issues.atMostOne(rw, path, ['pathPrefix', 'regex']);
  const prefix = rw['pathPrefix'];
  if (prefix !== undefined && (typeof prefix !== 'string' || !prefix.startsWith('/'))) {
    issues.expected(field(path, 'pathPrefix'), 'a path starting with "/"', prefix);
  }
  if (rw['regex'] !== undefined) validateRegexRewrite(rw['regex'], field(path, 'regex'), issues);
  if (rw['host'] !== undefined) issues.string(rw['host'], field(path, 'host'));
}

/** `rewrite.regex`: an RE2 pattern and an RE2 rewrite string whose groups the pattern has (as the sidecar checks). */
function validateRegexRewrite(value: unknown, path: string, issues: Issues): void {
  const re = issues.object(value, path, ['pattern', 'substitution']);
  if (!re) return;
  const pattern = issues.required(re, path, 'pattern', 'a regular expression')
    ? issues.regex(re['pattern'], field(path, 'pattern'))
    : undefined;
  const sub = re['substitution'];
  if (!issues.required(re, path, 'substitution', 'a string') || !issues.string(sub, field(path, 'substitution'), false))
    return;
  const rewrite = pattern && compileRe2Rewrite(sub, pattern);
  if (rewrite && 'error' in rewrite) {
    const what = 'an RE2 rewrite (\\1 to \\9 a group, \\0 the whole match, \\\\ a backslash)';
    issues.add(field(path, 'substitution'), `expected ${what}, got ${describe(sub)}: ${rewrite.error}`);
  }
}

/**
 * Destinations: a service (DNS label), optional port/subset, and a weight. Weights are all given or all omitted
 * (omitted = an equal split); when given they are integers >= 0 that sum to more than 0.
 */
function validateDestinations(dests: unknown[], path: string, issues: Issues): void {
  let sum = 0;
  let weighted = 0;
  dests.forEach((value, i) => {
    const at = field(path, i);
    const d = issues.object(value, at, ['service', 'port', 'subset', 'weight']);
    if (!d) return;
    if (issues.required(d, at, 'service', 'a service name')) issues.dnsLabel(d['service'], field(at, 'service'));
    if (d['port'] !== undefined) issues.integer(d['port'], field(at, 'port'), 1, 65535);
    if (d['subset'] !== undefined) issues.dnsLabel(d['subset'], field(at, 'subset'));
    if (d['weight'] !== undefined) {
      weighted++;
      if (issues.integer(d['weight'], field(at, 'weight'), 0)) sum += d['weight'];
      else sum = Number.NaN;
    }
  });
  if (weighted > 0 && weighted < dests.length) {
    const missing = dests.findIndex((d) => (d as Record<string, unknown> | null)?.['weight'] === undefined);
    issues.add(field(field(path, missing), 'weight'), 'required when another destination of the rule has a weight');
  } else if (weighted > 0 && sum === 0) {
    issues.add(path, 'expected destination weights that sum to more than 0, got 0');
  }
}

function validateHeaderOps(value: unknown, path: string, issues: Issues): void {
  const ops = issues.object(value, path, ['add', 'set', 'remove']);
  if (!ops) return;
  if (ops['add'] !== undefined) issues.stringMap(ops['add'], field(path, 'add'));
  if (ops['set'] !== undefined) issues.stringMap(ops['set'], field(path, 'set'));
  if (ops['remove'] !== undefined) {
    const names = issues.list(ops['remove'], field(path, 'remove'), 'header names');
    names?.forEach((n, i) => {
      issues.string(n, field(field(path, 'remove'), i));
    });
  }
}
