// Decoders for Envoy's matchers (StringMatcher, HeaderMatcher, QueryParameterMatcher, RouteMatch) into the model.
import { compileRe2, type Re2 } from '@trellis/re2';
import { at, fail, objList, optObj, reqObj, str, wrappedBool } from './decode-values.ts';
import type { HeaderMatch, QueryMatch, RouteMatch, StringMatcher } from './model.ts';

/** A RegexMatcher ({ regex, google_re2? }) compiled once; what RE2 refuses fails the resource (a NACK). */
export function regexMatcher(v: unknown, path: string): Re2 {
  const o = reqObj(v, path);
  const pattern = str(o['regex']);
  const compiled = compileRe2(pattern);
  if ('error' in compiled) fail(at(path, 'regex'), `invalid RE2 regex ${JSON.stringify(pattern)}: ${compiled.error}`);
  return compiled.regex;
}

/** envoy.type.matcher.v3.StringMatcher. */
export function stringMatcher(v: unknown, path: string): StringMatcher {
  const o = reqObj(v, path);
  const ignoreCase = o['ignore_case'] === true;
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (typeof o[kind] === 'string') return { kind, value: o[kind], ignoreCase };
  }
  if (o['safe_regex'] !== undefined)
    return { kind: 'regex', regex: regexMatcher(o['safe_regex'], at(path, 'safe_regex')) };
  if (o['custom'] !== undefined) fail(at(path, 'custom'), 'custom string matchers are not supported');
  // An empty exact match (the proto default) matches only the empty string.
  return { kind: 'exact', value: '', ignoreCase };
}

/** envoy.config.route.v3.HeaderMatcher; the header name is lower-cased. */
export function headerMatcher(v: unknown, path: string): HeaderMatch {
  const o = reqObj(v, path);
  const name = str(o['name']).toLowerCase();
  if (name === '') fail(at(path, 'name'), 'is required');
  const invert = o['invert_match'] === true;
  const legacy: [string, 'exact' | 'prefix' | 'suffix' | 'contains'][] = [
    ['exact_match', 'exact'],
    ['prefix_match', 'prefix'],
    ['suffix_match', 'suffix'],
    ['contains_match', 'contains'],
  ];
  if (o['string_match'] !== undefined) {
    return { name, matcher: stringMatcher(o['string_match'], at(path, 'string_match')), invert };
  }
  for (const [field, kind] of legacy) {
    const value = o[field];
    if (typeof value === 'string') return { name, matcher: { kind, value, ignoreCase: false }, invert };
  }
  if (o['safe_regex_match'] !== undefined) {
    const regex = regexMatcher(o['safe_regex_match'], at(path, 'safe_regex_match'));
    return { name, matcher: { kind: 'regex', regex }, invert };
  }
  if (o['range_match'] !== undefined) fail(at(path, 'range_match'), 'range matches are not supported');
  if (o['present_match'] !== undefined) return { name, present: o['present_match'] === true, invert };
  // No match specifier: Envoy checks presence.
  return { name, present: true, invert };
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export function queryMatcher(v: unknown, path: string): QueryMatch {
  const o = reqObj(v, path);
  const name = str(o['name']);
  if (name === '') fail(at(path, 'name'), 'is required');
  if (o['string_match'] !== undefined)
    return { name, matcher: stringMatcher(o['string_match'], at(path, 'string_match')) };
  return { name, present: o['present_match'] === true || o['present_match'] === undefined };
}

/** RouteMatch fields the sidecar cannot honour: ignoring them would route traffic the rule does not select. */
const UNSUPPORTED_MATCH_FIELDS = [
  'path_separated_prefix',
  'path_match_policy',
  'runtime_fraction',
  'tls_context',
  'dynamic_metadata',
  'filter_state',
];

/** envoy.config.route.v3.RouteMatch. `grpc: {}` becomes a content-type prefix match on application/grpc. */
export function routeMatch(v: unknown, path: string): RouteMatch {
  const o = reqObj(v, path);
  for (const field of UNSUPPORTED_MATCH_FIELDS) {
    if (o[field] !== undefined) fail(at(path, field), 'not supported by the sidecar');
  }
  const ignoreCase = !wrappedBool(o['case_sensitive'], at(path, 'case_sensitive'), true);
  let pathMatch: RouteMatch['path'];
  if (typeof o['prefix'] === 'string') pathMatch = { kind: 'prefix', value: o['prefix'], ignoreCase };
  else if (typeof o['path'] === 'string') pathMatch = { kind: 'exact', value: o['path'], ignoreCase };
  else if (o['safe_regex'] !== undefined) {
    pathMatch = { kind: 'regex', regex: regexMatcher(o['safe_regex'], at(path, 'safe_regex')) };
  } else if (optObj(o['connect_matcher'], at(path, 'connect_matcher'))) pathMatch = { kind: 'connect' };
  else fail(path, 'needs one of prefix, path, safe_regex or connect_matcher');
  const headers = objList(o['headers'], at(path, 'headers')).map((h, i) =>
    headerMatcher(h, at(at(path, 'headers'), i)),
  );
  if (optObj(o['grpc'], at(path, 'grpc'))) {
    headers.push({
      name: 'content-type',
      matcher: { kind: 'prefix', value: 'application/grpc', ignoreCase: false },
      invert: false,
    });
  }
  const query = objList(o['query_parameters'], at(path, 'query_parameters')).map((q, i) =>
    queryMatcher(q, at(at(path, 'query_parameters'), i)),
  );
  return { path: pathMatch, headers, query };
}
