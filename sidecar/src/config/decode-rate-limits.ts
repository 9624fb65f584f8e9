// Decodes routes' and virtual hosts' `rate_limits` (the descriptors requests carry to rate limit filters).
import { headerMatcher } from './decode-matchers.ts';
import { at, fail, num, type Obj, objList, optObj, str, wrappedBool } from './decode-values.ts';
import type { RateLimitAction, RateLimitSpec } from './model.ts';

/** Actions that need what the sidecar does not have (metadata, cluster names, masked addresses, query params). */
const UNSUPPORTED_ACTIONS = [
  'source_cluster',
  'destination_cluster',
  'masked_remote_address',
  'dynamic_metadata',
  'metadata',
  'extension',
  'query_parameter_value_match',
  'query_parameters',
];

function action(o: Obj, path: string): RateLimitAction {
  for (const kind of UNSUPPORTED_ACTIONS) {
    if (o[kind] !== undefined) fail(at(path, kind), 'this rate limit action is not supported by the sidecar');
  }
  if (o['remote_address'] !== undefined) return { kind: 'remote_address' };
  const headers = optObj(o['request_headers'], at(path, 'request_headers'));
  if (headers !== undefined) {
    const hpath = at(path, 'request_headers');
    const header = str(headers['header_name']).toLowerCase();
    const descriptorKey = str(headers['descriptor_key']);
    if (header === '') fail(at(hpath, 'header_name'), 'is required');
    if (descriptorKey === '') fail(at(hpath, 'descriptor_key'), 'is required');
    return { kind: 'request_headers', header, descriptorKey, skipIfAbsent: headers['skip_if_absent'] === true };
  }
  const generic = optObj(o['generic_key'], at(path, 'generic_key'));
  if (generic !== undefined) {
    const value = str(generic['descriptor_value']);
    if (value === '') fail(at(at(path, 'generic_key'), 'descriptor_value'), 'is required');
    return { kind: 'generic_key', descriptorKey: str(generic['descriptor_key']) || 'generic_key', value };
  }
  const match = optObj(o['header_value_match'], at(path, 'header_value_match'));
  if (match !== undefined) {
    const mpath = at(path, 'header_value_match');
    const value = str(match['descriptor_value']);
    if (value === '') fail(at(mpath, 'descriptor_value'), 'is required');
    return {
      kind: 'header_value_match',
      descriptorKey: str(match['descriptor_key']) || 'header_match',
      value,
      expectMatch: wrappedBool(match['expect_match'], at(mpath, 'expect_match'), true),
      headers: objList(match['headers'], at(mpath, 'headers')).map((h, i) =>
        headerMatcher(h, at(at(mpath, 'headers'), i)),
      ),
    };
  }
  return fail(path, 'expected one of remote_address, request_headers, generic_key, header_value_match');
}

/** A route's or virtual host's `rate_limits`; undefined when there are none. */
export function rateLimits(v: unknown, path: string): RateLimitSpec[] | undefined {
  const list = objList(v, path);
  if (list.length === 0) return undefined;
  return list.map((o, i) => {
    const rpath = at(path, i);
    if (o['limit'] !== undefined) fail(at(rpath, 'limit'), 'dynamic metadata limits are not supported by the sidecar');
    if (o['disable_key'] !== undefined && o['disable_key'] !== '')
      fail(at(rpath, 'disable_key'), 'runtime disable keys are not supported by the sidecar');
    if (o['apply_on_stream_done'] === true) fail(at(rpath, 'apply_on_stream_done'), 'is not supported by the sidecar');
    const stage = num(wrappedStage(o['stage']), at(rpath, 'stage'), 0);
    const actions = objList(o['actions'], at(rpath, 'actions'));
    if (actions.length === 0) fail(at(rpath, 'actions'), 'needs at least one action');
    return { stage, actions: actions.map((a, j) => action(a, at(at(rpath, 'actions'), j))) };
  });
}

/** `stage` is a UInt32Value: { value }. */
function wrappedStage(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? ((v as Obj)['value'] ?? 0) : v;
}
