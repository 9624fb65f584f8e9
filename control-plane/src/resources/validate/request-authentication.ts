// Validates a RequestAuthentication spec (Istio's shape): a selector and JWT rules, each with an issuer and one source
// of keys (inline JWKS, an https jwksUri, or a jwksFile), token locations and what is passed on to the app.
import { field, type Issues } from './issues.ts';

export const REQUEST_AUTHENTICATION_FIELDS = ['selector', 'jwtRules'];
const RULE_FIELDS = [
  'issuer',
  'audiences',
  'jwks',
  'jwksUri',
  'jwksFile',
  'fromHeaders',
  'fromParams',
  'fromCookies',
  'forwardOriginalToken',
  'outputClaimToHeaders',
  'outputPayloadToHeader',
];
const MAX_RULES = 16;
const MAX_JWKS_BYTES = 1 << 20;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function jwks(issues: Issues, value: unknown, path: string): void {
  if (!issues.string(value, path)) return;
  if (value.length > MAX_JWKS_BYTES) {
    issues.add(path, `at most ${MAX_JWKS_BYTES} bytes`);
    return;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    issues.add(path, `expected a JWKS (JSON): ${(err as Error).message}`);
    return;
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null))
    issues.add(path, 'expected a JWKS: { "keys": [ … ] }');
}

function stringList(issues: Issues, value: unknown, path: string, check?: (v: string) => boolean, what = 'strings') {
  const list = issues.list(value, path, what, true);
  if (list === undefined) return;
  for (const [i, v] of list.entries()) {
    if (issues.string(v, field(path, i)) && check !== undefined && !check(v)) issues.expected(field(path, i), what, v);
  }
}

function rule(issues: Issues, value: unknown, path: string): void {
  const r = issues.object(value, path, RULE_FIELDS);
  if (r === undefined) return;
  if (issues.required(r, path, 'issuer', "the tokens' iss")) issues.string(r['issuer'], field(path, 'issuer'));
  const sources = ['jwks', 'jwksUri', 'jwksFile'].filter((k) => r[k] !== undefined);
  if (sources.length !== 1)
    issues.add(
      path,
      `expected exactly one of jwks|jwksUri|jwksFile, got ${sources.length === 0 ? 'none' : sources.join(' and ')}`,
    );
  if (r['jwks'] !== undefined) jwks(issues, r['jwks'], field(path, 'jwks'));
  if (r['jwksUri'] !== undefined && issues.string(r['jwksUri'], field(path, 'jwksUri'))) {
    let url: URL | undefined;
    try {
      url = new URL(r['jwksUri'] as string);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') issues.expected(field(path, 'jwksUri'), 'an https:// URL', r['jwksUri']);
  }
  if (
    r['jwksFile'] !== undefined &&
    issues.string(r['jwksFile'], field(path, 'jwksFile')) &&
    !(r['jwksFile'] as string).startsWith('/')
  )
    issues.expected(field(path, 'jwksFile'), 'an absolute path', r['jwksFile']);
  if (r['audiences'] !== undefined) stringList(issues, r['audiences'], field(path, 'audiences'));
  if (r['fromHeaders'] !== undefined) {
    const list = issues.list(r['fromHeaders'], field(path, 'fromHeaders'), '{ name, prefix }', true);
    for (const [i, h] of (list ?? []).entries()) {
      const hpath = field(field(path, 'fromHeaders'), i);
      const o = issues.object(h, hpath, ['name', 'prefix']);
      if (o === undefined || !issues.required(o, hpath, 'name', 'a header name')) continue;
      if (!HEADER_NAME.test(String(o['name']))) issues.expected(field(hpath, 'name'), 'a header name', o['name']);
      if (o['prefix'] !== undefined) issues.string(o['prefix'], field(hpath, 'prefix'), false);
    }
  }
  if (r['fromParams'] !== undefined) stringList(issues, r['fromParams'], field(path, 'fromParams'));
  if (r['fromCookies'] !== undefined) stringList(issues, r['fromCookies'], field(path, 'fromCookies'));
  if (r['forwardOriginalToken'] !== undefined)
    issues.boolean(r['forwardOriginalToken'], field(path, 'forwardOriginalToken'));
  if (r['outputClaimToHeaders'] !== undefined) {
    const list = issues.list(r['outputClaimToHeaders'], field(path, 'outputClaimToHeaders'), '{ header, claim }', true);
    for (const [i, c] of (list ?? []).entries()) {
      const cpath = field(field(path, 'outputClaimToHeaders'), i);
      const o = issues.object(c, cpath, ['header', 'claim']);
      if (o === undefined) continue;
      if (issues.required(o, cpath, 'header', 'a header name') && !HEADER_NAME.test(String(o['header'])))
        issues.expected(field(cpath, 'header'), 'a header name', o['header']);
      if (issues.required(o, cpath, 'claim', 'a claim name')) issues.string(o['claim'], field(cpath, 'claim'));
    }
  }
  if (r['outputPayloadToHeader'] !== undefined && !HEADER_NAME.test(String(r['outputPayloadToHeader'])))
    issues.expected(field(path, 'outputPayloadToHeader'), 'a header name', r['outputPayloadToHeader']);
}

export function validateRequestAuthenticationSpec(spec: Record<string, unknown>, issues: Issues): void {
  if (spec['selector'] !== undefined) {
    const selector = issues.object(spec['selector'], 'spec.selector', ['service']);
    if (selector && issues.required(selector, 'spec.selector', 'service', 'the name of a Service'))
      issues.dnsLabel(selector['service'], 'spec.selector.service');
  }
  if (!issues.required(spec, 'spec', 'jwtRules', 'a list of { issuer, jwks|jwksUri|jwksFile, … }')) return;
  const rules = issues.list(spec['jwtRules'], 'spec.jwtRules', 'JWT rules', true);
  if (rules === undefined) return;
  if (rules.length > MAX_RULES) issues.add('spec.jwtRules', `at most ${MAX_RULES} rules, got ${rules.length}`);
  const issuers = new Set<string>();
  for (const [i, r] of rules.entries()) {
    rule(issues, r, field('spec.jwtRules', i));
    const issuer = (r as { issuer?: unknown } | null)?.issuer;
    if (typeof issuer === 'string') {
      if (issuers.has(issuer))
        issues.add(field(field('spec.jwtRules', i), 'issuer'), `issuer ${JSON.stringify(issuer)} appears twice`);
      issuers.add(issuer);
    }
  }
}
