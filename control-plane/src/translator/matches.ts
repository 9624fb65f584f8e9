// Route matches: one Envoy RouteMatch per operator match entry (path, headers, cookies, query parameters, methods).

import type { ClientKind } from '@trellis/node-contract';
import type { HttpMatch, HttpRule, StringMatch } from '../resources/types.ts';
import { byString } from './names.ts';

/** Escapes text for use inside an RE2 regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function stringMatcher(m: StringMatch): Record<string, unknown> | undefined {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

/**
 * The same string match in HeaderMatcher's older fields, which every gRPC release reads: `string_match` is read only
 * since gRFC A63 (gRPC 1.56 and the matching Java/Go releases), and an older client NACKs the whole
 * RouteConfiguration (Envoy reads both).
 */
function legacyMatcher(m: StringMatch): Record<string, unknown> | undefined {
  if (m.exact !== undefined) return { exact_match: m.exact };
  if (m.prefix !== undefined) return { prefix_match: m.prefix };
  if (m.regex !== undefined) return { safe_regex_match: { regex: m.regex } };
  return undefined;
}

/**
 * A HeaderMatcher; `present: false` becomes an inverted presence match (works in Envoy and gRPC alike). Proxyless
 * clients get the older fields (legacyMatcher).
 */
export function headerMatcher(name: string, m: StringMatch, client?: ClientKind): Record<string, unknown> {
  if (client === 'proxyless') {
    const legacy = legacyMatcher(m);
    if (legacy) return { name, ...legacy };
  }
  const sm = stringMatcher(m);
  if (sm) return { name, string_match: sm };
  if (m.present === false) return { name, present_match: true, invert_match: true };
  return { name, present_match: true };
}

/**
 * A matcher on the `cookie` header for one cookie. Envoy and gRPC regexes match the whole header value, so the
 * pattern allows other cookies on either side (separated by ';' or, for merged headers, ',').
 */
export function cookieMatcher(cookie: string, m: StringMatch, client?: ClientKind): Record<string, unknown> {
  const before = '(.*[;,]\\s*)?';
  const after = '(\\s*[;,].*)?';
  const name = escapeRegex(cookie);
  let value: string;
  if (m.exact !== undefined) value = escapeRegex(m.exact);
  else if (m.prefix !== undefined) value = `${escapeRegex(m.prefix)}[^;,]*`;
  else if (m.regex !== undefined) value = `(?:${m.regex})`;
  else value = '[^;,]*';
  const regex = { regex: `${before}${name}=${value}${after}` };
  const matcher: Record<string, unknown> =
    client === 'proxyless'
      ? { name: 'cookie', safe_regex_match: regex }
      : { name: 'cookie', string_match: { safe_regex: regex } };
  if (m.present === false && stringMatcher(m) === undefined) matcher['invert_match'] = true;
  return matcher;
}

function pathMatch(m: HttpMatch): Record<string, unknown> {
  if (m.pathExact !== undefined) return { path: m.pathExact };
  if (m.pathPrefix !== undefined) return { prefix: m.pathPrefix };
  if (m.pathRegex !== undefined) return { safe_regex: { regex: m.pathRegex } };
  return { prefix: '/' };
}

function sortedEntries<V>(rec: Readonly<Record<string, V>> | undefined): [string, V][] {
  return Object.entries(rec ?? {}).sort(([a], [b]) => byString(a, b));
}

/**
 * The RouteMatch for one operator match entry, or a reason it cannot apply to this client. gRPC requests are
 * always POST and carry no query string, so for proxyless clients a methods list without POST, or any query
 * parameter, means the entry never matches (gRPC itself would ignore those conditions and over-match).
 */
export function routeMatch(m: HttpMatch, client: ClientKind): { match: Record<string, unknown> } | { skip: string } {
  const match: Record<string, unknown> = pathMatch(m);
  const headers = sortedEntries(m.headers).map(([name, sm]) => headerMatcher(name.toLowerCase(), sm, client));
  headers.push(...sortedEntries(m.cookies).map(([name, sm]) => cookieMatcher(name, sm, client)));
  const methods = [...new Set((m.methods ?? []).map((x) => x.toUpperCase()))].sort(byString);
  if (methods.length > 0) {
    if (client === 'proxyless') {
      if (!methods.includes('POST')) return { skip: 'gRPC requests are always POST' };
    } else if (methods.length === 1) {
      headers.push({ name: ':method', string_match: { exact: methods[0] } });
    } else {
      headers.push({ name: ':method', string_match: { safe_regex: { regex: methods.map(escapeRegex).join('|') } } });
    }
  }
  if (headers.length > 0) match['headers'] = headers;
  const query = sortedEntries(m.queryParams);
  if (query.length > 0) {
    if (client === 'proxyless') return { skip: 'gRPC requests carry no query parameters' };
    const params: Record<string, unknown>[] = [];
    for (const [name, sm] of query) {
      if (sm.present === false && stringMatcher(sm) === undefined) {
        return { skip: `query parameter '${name}': Envoy cannot match an absent query parameter` };
      }
      const string = stringMatcher(sm);
      params.push(string ? { name, string_match: string } : { name, present_match: true });
    }
    match['query_parameters'] = params;
  }
  return { match };
}

/** Every RouteMatch of a rule (a rule without match entries matches everything), with reasons for skipped ones. */
export function ruleMatches(
  rule: HttpRule,
  client: ClientKind,
): { matches: Record<string, unknown>[]; skipped: string[] } {
  const entries = rule.match && rule.match.length > 0 ? rule.match : [{}];
  const matches: Record<string, unknown>[] = [];
  const skipped: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const r = routeMatch(entry, client);
    if ('match' in r) matches.push(r.match);
    else skipped.push(`match[${i}]: ${r.skip}`);
  }
  return { matches, skipped };
}
