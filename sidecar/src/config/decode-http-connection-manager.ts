// Decodes an HttpConnectionManager network filter config (RDS or inline routes, HTTP filters) into the model.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import { httpFilters } from './decode-http-filters.ts';
import { httpLimits } from './decode-http-limits.ts';
import { accessLogs, tracingConfig } from './decode-observability.ts';
import { routeConfig } from './decode-route.ts';
import {
  at,
  durationMs,
  enumName,
  fail,
  num,
  type Obj,
  objList,
  optObj,
  reqObj,
  str,
  wrappedBool,
  wrappedNum,
} from './decode-values.ts';
import type {
  EscapedSlashesAction,
  ForwardClientCert,
  HttpConnectionManagerConfig,
  PathNormalization,
} from './model.ts';

export const HCM_TYPE = EXTENSION_TYPES.httpConnectionManager;
export { ROUTER_TYPE } from './decode-http-filters.ts';

/** Envoy's defaults where the HCM leaves a field unset. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
const DEFAULT_MAX_HEADERS_COUNT = 100;
/** What the Server header says when the HCM sets no server_name (Envoy's would be `envoy`). */
export const DEFAULT_SERVER_NAME = 'trellis';
/** A header value we write as is: visible ASCII, inner spaces allowed. */
const HEADER_TEXT = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

const SERVER_HEADER_TRANSFORMATIONS: Readonly<
  Record<string, HttpConnectionManagerConfig['serverHeaderTransformation']>
> = {
  OVERWRITE: 'overwrite',
  APPEND_IF_ABSENT: 'append-if-absent',
  PASS_THROUGH: 'pass-through',
};

const CODECS: Readonly<Record<string, HttpConnectionManagerConfig['codec']>> = {
  AUTO: 'auto',
  HTTP1: 'http1',
  HTTP2: 'http2',
};

function upgradeTypes(v: unknown, path: string): string[] {
  const out: string[] = [];
  for (const [i, u] of objList(v, path).entries()) {
    const type = str(u['upgrade_type']);
    if (type === '') fail(at(at(path, i), 'upgrade_type'), 'is required');
    if (u['filters'] !== undefined) fail(at(at(path, i), 'filters'), 'per-upgrade filters are not supported');
    if (wrappedBool(u['enabled'], at(at(path, i), 'enabled'), true)) out.push(type);
  }
  return out;
}

/** `common_http_protocol_options.max_headers_count` (UInt32Value, at least 1; Envoy's default 100). */
function maxHeadersCount(o: Obj, path: string): number {
  const common = optObj(o['common_http_protocol_options'], at(path, 'common_http_protocol_options'));
  const field = at(at(path, 'common_http_protocol_options'), 'max_headers_count');
  const n = wrappedNum(common?.['max_headers_count'], field, DEFAULT_MAX_HEADERS_COUNT);
  if (!Number.isInteger(n) || n < 1) fail(field, `must be at least 1, got ${n}`);
  return n;
}

/** `server_name` and `server_header_transformation`: the Server header every response gets. */
function serverHeader(
  o: Obj,
  path: string,
): Pick<HttpConnectionManagerConfig, 'serverName' | 'serverHeaderTransformation'> {
  const name = str(o['server_name']);
  if (name !== '' && !HEADER_TEXT.test(name)) fail(at(path, 'server_name'), 'must be visible ASCII (a header value)');
  const transformation = enumName(o['server_header_transformation'], 'OVERWRITE');
  const serverHeaderTransformation =
    SERVER_HEADER_TRANSFORMATIONS[transformation] ??
    fail(at(path, 'server_header_transformation'), `${transformation} is not supported`);
  return { serverName: name === '' ? DEFAULT_SERVER_NAME : name, serverHeaderTransformation };
}

const ESCAPED_SLASHES_ACTIONS: Readonly<Record<string, EscapedSlashesAction>> = {
  IMPLEMENTATION_SPECIFIC_DEFAULT: 'keep-unchanged',
  KEEP_UNCHANGED: 'keep-unchanged',
  REJECT_REQUEST: 'reject-request',
  UNESCAPE_AND_REDIRECT: 'unescape-and-redirect',
  UNESCAPE_AND_FORWARD: 'unescape-and-forward',
};

/** `normalize_path` (BoolValue), `merge_slashes`, `path_with_escaped_slashes_action`: Envoy's defaults are all off. */
function pathNormalization(o: Obj, path: string): PathNormalization {
  if (o['path_normalization_options'] !== undefined)
    fail(at(path, 'path_normalization_options'), 'not supported by the sidecar (use normalize_path and merge_slashes)');
  const action = enumName(o['path_with_escaped_slashes_action'], 'IMPLEMENTATION_SPECIFIC_DEFAULT');
  return {
    normalizePath: wrappedBool(o['normalize_path'], at(path, 'normalize_path'), false),
    mergeSlashes: o['merge_slashes'] === true,
    escapedSlashes:
      ESCAPED_SLASHES_ACTIONS[action] ??
      fail(at(path, 'path_with_escaped_slashes_action'), `${action} is not supported`),
  };
}

const XFCC_MODES: Readonly<Record<string, ForwardClientCert['mode']>> = {
  SANITIZE: 'sanitize',
  FORWARD_ONLY: 'forward-only',
  APPEND_FORWARD: 'append-forward',
  SANITIZE_SET: 'sanitize-set',
  ALWAYS_FORWARD_ONLY: 'always-forward-only',
};

/** forward_client_cert_details and set_current_client_cert_details (only `uri` is supported among the details). */
function forwardClientCert(o: Obj, path: string): ForwardClientCert {
  const name = enumName(o['forward_client_cert_details'], 'SANITIZE');
  const mode =
    XFCC_MODES[name] ??
    fail(at(path, 'forward_client_cert_details'), `expected one of ${Object.keys(XFCC_MODES).join(', ')}`);
  const details = optObj(o['set_current_client_cert_details'], at(path, 'set_current_client_cert_details'));
  for (const field of ['subject', 'cert', 'chain', 'dns']) {
    const v = details?.[field];
    const set = typeof v === 'object' && v !== null ? (v as Obj)['value'] === true : v === true;
    if (set) fail(at(at(path, 'set_current_client_cert_details'), field), 'is not supported (uri is)');
  }
  return { mode, setUri: details?.['uri'] === true };
}

/** Where the routes come from: an RDS name (over ADS) or an inline RouteConfiguration. */
function routeSource(
  o: Obj,
  path: string,
  version: string,
): Pick<HttpConnectionManagerConfig, 'routeConfigName' | 'routeConfig'> {
  const rds = optObj(o['rds'], at(path, 'rds'));
  if (rds) {
    const name = str(rds['route_config_name']);
    if (name === '') fail(at(at(path, 'rds'), 'route_config_name'), 'is required');
    const source = optObj(rds['config_source'], at(at(path, 'rds'), 'config_source'));
    if (source && source['ads'] === undefined && source['self'] === undefined) {
      fail(at(at(path, 'rds'), 'config_source'), 'only ADS (ads or self) config sources are supported');
    }
    return { routeConfigName: name };
  }
  const inline = optObj(o['route_config'], at(path, 'route_config'));
  if (inline) return { routeConfig: routeConfig(inline, at(path, 'route_config'), version) };
  if (o['scoped_routes'] !== undefined) fail(at(path, 'scoped_routes'), 'scoped routes are not supported');
  return fail(path, 'needs rds or route_config');
}

/** An HttpConnectionManager typed_config (throws DecodeError naming the field path). */
export function httpConnectionManager(v: unknown, path: string, version: string): HttpConnectionManagerConfig {
  const o = reqObj(v, path);
  const codecName = enumName(o['codec_type'], 'AUTO');
  const codec = CODECS[codecName] ?? fail(at(path, 'codec_type'), `codec ${codecName} is not supported`);
  const filters = httpFilters(o['http_filters'], at(path, 'http_filters'));
  const config: HttpConnectionManagerConfig = {
    statPrefix: str(o['stat_prefix']),
    ...routeSource(o, path, version),
    codec,
    useRemoteAddress: wrappedBool(o['use_remote_address'], at(path, 'use_remote_address'), false),
    xffNumTrustedHops: num(o['xff_num_trusted_hops'], at(path, 'xff_num_trusted_hops'), 0),
    generateRequestId: wrappedBool(o['generate_request_id'], at(path, 'generate_request_id'), true),
    forwardClientCert: forwardClientCert(o, path),
    ...serverHeader(o, path),
    requestTimeoutMs: durationMs(o['request_timeout'], at(path, 'request_timeout'), 0),
    streamIdleTimeoutMs: durationMs(
      o['stream_idle_timeout'],
      at(path, 'stream_idle_timeout'),
      DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    ),
    maxRequestHeadersKb: wrappedNum(
      o['max_request_headers_kb'],
      at(path, 'max_request_headers_kb'),
      DEFAULT_MAX_REQUEST_HEADERS_KB,
    ),
    maxHeadersCount: maxHeadersCount(o, path),
    pathNormalization: pathNormalization(o, path),
    limits: httpLimits(o, path),
    upgrades: upgradeTypes(o['upgrade_configs'], at(path, 'upgrade_configs')),
    accessLogs: accessLogs(o['access_log'], at(path, 'access_log')),
    httpFilters: filters,
  };
  const tracing = tracingConfig(o['tracing'], at(path, 'tracing'));
  if (tracing !== undefined) config.tracing = tracing;
  return config;
}
