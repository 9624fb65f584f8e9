// Envoy access log formats compiled once per listener: command operators (%START_TIME%, %REQ(X?Y):Z%, …) into a
// list of literal strings and small reader functions; text lines and JSON objects (typed values) from the same parts.
import { hostname } from 'node:os';
import type { LogSource } from './access-log-source.ts';

type Value = string | number | undefined;
type Reader = (s: LogSource) => Value;
type Part = string | Reader;

/** Renders one line (with its trailing newline) for a finished request or connection. */
export type LogFormatter = (s: LogSource) => string;

const GRPC_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

const HOSTNAME = hostname();

/** Operators without arguments. */
const SIMPLE: Readonly<Record<string, Reader>> = {
  PROTOCOL: (s) => s.protocol,
  RESPONSE_CODE: (s) => s.responseCode,
  RESPONSE_FLAGS: (s) => (s.flags === '' ? undefined : s.flags),
  BYTES_RECEIVED: (s) => s.bytesReceived,
  BYTES_SENT: (s) => s.bytesSent,
  DURATION: (s) => Math.round(s.durationMs),
  UPSTREAM_HOST: (s) => s.upstreamHost,
  UPSTREAM_CLUSTER: (s) => s.upstreamCluster,
  DOWNSTREAM_REMOTE_ADDRESS: (s) => s.downstreamRemoteAddress,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (s) => withoutPort(s.downstreamRemoteAddress),
  DOWNSTREAM_LOCAL_ADDRESS: (s) => s.downstreamLocalAddress,
  DOWNSTREAM_PEER_URI_SAN: (s) => s.downstreamPeerUriSan,
  DOWNSTREAM_LOCAL_URI_SAN: (s) => s.downstreamLocalUriSan,
  ROUTE_NAME: (s) => (s.routeName === '' ? undefined : s.routeName),
  GRPC_STATUS: (s) => (s.grpcStatus === undefined ? undefined : (GRPC_NAMES[s.grpcStatus] ?? String(s.grpcStatus))),
  GRPC_STATUS_NUMBER: (s) => s.grpcStatus,
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (s) => s.attempts,
  TRACE_ID: (s) => s.traceId(),
  CONNECTION_ID: (s) => s.connectionId,
  HOSTNAME: () => HOSTNAME,
};

const OPERATORS = [...Object.keys(SIMPLE), 'START_TIME', 'REQ', 'RESP'].sort();

/** An address without its port (`1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`). */
function withoutPort(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const m = /^\[(.*)\]:\d+$/.exec(address) ?? /^([^:]*):\d+$/.exec(address);
  return m === null ? address : m[1];
}

/** A bad format string: the message names the position and what was expected. */
export class FormatError extends Error {}

function headerReader(op: 'REQ' | 'RESP', args: string | undefined, where: string): Reader {
  if (args === undefined || args === '') throw new FormatError(`${where}: %${op}(…)% needs a header name`);
  const names = args.split('?').map((n) => n.trim().toLowerCase());
  if (names.length > 2 || names.some((n) => n === '' || !/^:?[a-z0-9!#$&'*+.^_`|~-]+$/.test(n)))
    throw new FormatError(`${where}: %${op}(${args})% expects HEADER or HEADER?ALTERNATIVE`);
  const [first, alt] = names as [string, string | undefined];
  if (op === 'REQ') {
    return alt === undefined ? (s) => s.requestHeader(first) : (s) => s.requestHeader(first) ?? s.requestHeader(alt);
  }
  return alt === undefined ? (s) => s.responseHeader(first) : (s) => s.responseHeader(first) ?? s.responseHeader(alt);
}

const TIME_SPECS = /%([YmdHMSsz%]|[1-9]f)/g;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** %START_TIME% (ISO 8601 UTC) or %START_TIME(strftime subset: %Y %m %d %H %M %S %s %z %Nf %%)%. */
function startTimeReader(args: string | undefined, where: string): Reader {
  if (args === undefined || args === '') return (s) => new Date(s.startTime).toISOString();
  const stripped = args.replace(TIME_SPECS, '');
  if (stripped.includes('%'))
    throw new FormatError(`${where}: %START_TIME(${args})% supports %Y %m %d %H %M %S %s %z %1f-%9f and %%`);
  return (s) => {
    const d = new Date(s.startTime);
    return args.replace(TIME_SPECS, (_m, spec: string) => {
      switch (spec) {
        case 'Y':
          return String(d.getUTCFullYear());
        case 'm':
          return pad(d.getUTCMonth() + 1);
        case 'd':
          return pad(d.getUTCDate());
        case 'H':
          return pad(d.getUTCHours());
        case 'M':
          return pad(d.getUTCMinutes());
        case 'S':
          return pad(d.getUTCSeconds());
        case 's':
          return String(Math.floor(s.startTime / 1000));
        case 'z':
          return '+0000';
        case '%':
          return '%';
        default:
          return pad(d.getUTCMilliseconds(), 3).padEnd(9, '0').slice(0, Number(spec[0]));
      }
    });
  };
}

const OPERATOR = /^%([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::(\d+))?%/;

/** Compiles a format string into parts; `field` names it in errors (e.g. `json_format.path`). */
export function compileParts(format: string, field: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      literal += format.slice(i);
      break;
    }
    literal += format.slice(i, pct);
    const m = OPERATOR.exec(format.slice(pct));
    const where = `${field}: position ${pct}`;
    if (m === null)
      throw new FormatError(`${where}: malformed command operator in ${JSON.stringify(format)} (expected %NAME%)`);
    const [whole, name, args, max] = m as unknown as [string, string, string | undefined, string | undefined];
    let reader: Reader;
    if (name === 'REQ' || name === 'RESP') reader = headerReader(name, args, where);
    else if (name === 'START_TIME') reader = startTimeReader(args, where);
    else {
      const simple = SIMPLE[name];
      if (simple === undefined)
        throw new FormatError(`${where}: unknown command operator %${name}% (supported: ${OPERATORS.join(', ')})`);
      if (args !== undefined) throw new FormatError(`${where}: %${name}% takes no arguments`);
      reader = simple;
    }
    if (max !== undefined) {
      const limit = Number(max);
      const inner = reader;
      reader = (s) => {
        const v = inner(s);
        return typeof v === 'string' && v.length > limit ? v.slice(0, limit) : v;
      };
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(reader);
    i = pct + whole.length;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

function textOf(parts: readonly Part[], s: LogSource): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = p(s);
      out += v === undefined || v === '' ? '-' : v;
    }
  }
  return out;
}

/** A text format: operators substituted ('-' for missing values), one line per entry (a newline is added if absent). */
export function compileTextFormat(format: string, field: string): LogFormatter {
  const parts = compileParts(format.endsWith('\n') ? format : `${format}\n`, field);
  return (s) => textOf(parts, s);
}

/**
 * A JSON format (key → format string): a value that is a single operator keeps its type (numbers stay numbers,
 * missing values are null); anything else is a string. One JSON object per line.
 */
export function compileJsonFormat(format: Readonly<Record<string, string>>, field: string): LogFormatter {
  const fields = Object.entries(format).map(([key, value]) => {
    const parts = compileParts(value, `${field}.${key}`);
    return { key, parts, single: parts.length === 1 && typeof parts[0] === 'function' ? parts[0] : undefined };
  });
  return (s) => {
    const obj: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.single !== undefined) {
        const v = f.single(s);
        obj[f.key] = v === undefined || v === '' ? null : v;
      } else obj[f.key] = textOf(f.parts, s);
    }
    return `${JSON.stringify(obj)}\n`;
  };
}

/** The JSON line written when an HTTP access log has no format. */
export const DEFAULT_HTTP_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_request_attempt_count: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
  authority: '%REQ(:AUTHORITY)%',
  user_agent: '%REQ(USER-AGENT)%',
  x_request_id: '%REQ(X-REQUEST-ID)%',
  trace_id: '%TRACE_ID%',
  route_name: '%ROUTE_NAME%',
  grpc_status: '%GRPC_STATUS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
};

/** The JSON line written when a TCP proxy access log has no format. */
export const DEFAULT_TCP_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  connection_id: '%CONNECTION_ID%',
};

/** The formatter of one access log config (its jsonFormat, textFormat, or the default JSON of its kind). */
export function compileFormat(
  config: { jsonFormat?: Record<string, string> | undefined; textFormat?: string | undefined },
  kind: 'http' | 'tcp',
  field: string,
): LogFormatter {
  if (config.jsonFormat !== undefined) return compileJsonFormat(config.jsonFormat, `${field}.json_format`);
  if (config.textFormat !== undefined) return compileTextFormat(config.textFormat, `${field}.text_format`);
  return compileJsonFormat(kind === 'http' ? DEFAULT_HTTP_JSON_FORMAT : DEFAULT_TCP_JSON_FORMAT, field);
}
