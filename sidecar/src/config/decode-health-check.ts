// Decodes a Cluster's health_checks (config.core.v3.HealthCheck): HTTP, TCP and gRPC checkers with their timing.
import {
  at,
  durationMs,
  enumName,
  fail,
  num,
  type Obj,
  objList,
  optObj,
  str,
  strList,
  wrappedBool,
  wrappedNum,
} from './decode-values.ts';
import type {
  GrpcHealthProbe,
  HealthCheckConfig,
  HealthProbe,
  HttpHealthProbe,
  StatusRange,
  TcpHealthProbe,
} from './model.ts';

const METHODS: Readonly<Record<string, string>> = {
  METHOD_UNSPECIFIED: 'GET',
  GET: 'GET',
  HEAD: 'HEAD',
  POST: 'POST',
  PUT: 'PUT',
  DELETE: 'DELETE',
  OPTIONS: 'OPTIONS',
  TRACE: 'TRACE',
  PATCH: 'PATCH',
};

/** Envoy's default: only 200 is healthy. */
const DEFAULT_EXPECTED: readonly StatusRange[] = [{ start: 200, end: 201 }];

/** A required Duration above zero. */
function requiredMs(o: Obj, field: string, path: string): number {
  if (o[field] === undefined || o[field] === null) fail(at(path, field), 'is required');
  const ms = durationMs(o[field], at(path, field), 0);
  if (ms <= 0) fail(at(path, field), 'must be above 0');
  return ms;
}

/** An optional Duration above zero; undefined when absent. */
function optionalMs(o: Obj, field: string, path: string): number | undefined {
  if (o[field] === undefined || o[field] === null) return undefined;
  const ms = durationMs(o[field], at(path, field), 0);
  if (ms <= 0) fail(at(path, field), 'must be above 0');
  return ms;
}

function threshold(o: Obj, field: string, path: string): number {
  if (o[field] === undefined || o[field] === null) fail(at(path, field), 'is required');
  const n = wrappedNum(o[field], at(path, field), 0);
  if (!Number.isInteger(n) || n < 1) fail(at(path, field), `expected an integer of at least 1, got ${n}`);
  return n;
}

/** A Payload: hex `text` or `binary` bytes (a Buffer from protobufjs, or base64 from JSON). */
export function payload(v: unknown, path: string): Uint8Array {
  const o = optObj(v, path) ?? {};
  const text = o['text'];
  if (typeof text === 'string' && text !== '') {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) fail(at(path, 'text'), 'expected hex bytes such as "000000FF"');
    return Uint8Array.from(Buffer.from(text, 'hex'));
  }
  const binary = o['binary'];
  if (binary instanceof Uint8Array && binary.length > 0) return Uint8Array.from(binary);
  if (typeof binary === 'string' && binary !== '') return Uint8Array.from(Buffer.from(binary, 'base64'));
  return fail(path, 'needs text or binary');
}

function statusRanges(v: unknown, path: string): StatusRange[] {
  return objList(v, path).map((r, i) => {
    const p = at(path, i);
    const start = num(r['start'], at(p, 'start'), 0);
    const end = num(r['end'], at(p, 'end'), 0);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 100 || end > 600 || start >= end) {
      fail(p, `expected a range [start, end) within [100, 600), got [${start}, ${end})`);
    }
    return { start, end };
  });
}

function headers(v: unknown, path: string): { name: string; value: string }[] {
  return objList(v, path).map((h, i) => {
    const header = optObj(h['header'], at(at(path, i), 'header')) ?? {};
    const name = str(header['key']).toLowerCase();
    if (name === '') fail(at(at(at(path, i), 'header'), 'key'), 'is required');
    return { name, value: str(header['value']) };
  });
}

function httpProbe(o: Obj, path: string): HttpHealthProbe {
  const probePath = str(o['path']);
  if (probePath === '') fail(at(path, 'path'), 'is required');
  if (o['service_name_matcher'] !== undefined) fail(at(path, 'service_name_matcher'), 'not supported by the sidecar');
  const codec = enumName(o['codec_client_type'], 'HTTP1');
  if (codec !== 'HTTP1' && codec !== 'HTTP2') fail(at(path, 'codec_client_type'), `${codec} is not supported`);
  const methodName = enumName(o['method'], 'METHOD_UNSPECIFIED');
  const method = METHODS[methodName] ?? fail(at(path, 'method'), `${methodName} is not allowed for health checks`);
  const expected = statusRanges(o['expected_statuses'], at(path, 'expected_statuses'));
  const bufferSize = wrappedNum(o['response_buffer_size'], at(path, 'response_buffer_size'), 1024);
  const probe: HttpHealthProbe = {
    kind: 'http',
    path: probePath,
    method,
    codec: codec === 'HTTP2' ? 'http2' : 'http1',
    expectedStatuses: expected.length > 0 ? expected : DEFAULT_EXPECTED.map((r) => ({ ...r })),
    retriableStatuses: statusRanges(o['retriable_statuses'], at(path, 'retriable_statuses')),
    receive: objList(o['receive'], at(path, 'receive')).map((p, i) => payload(p, at(at(path, 'receive'), i))),
    responseBufferSize: bufferSize,
    requestHeaders: headers(o['request_headers_to_add'], at(path, 'request_headers_to_add')),
    requestHeadersToRemove: strList(o['request_headers_to_remove'], at(path, 'request_headers_to_remove')).map((h) =>
      h.toLowerCase(),
    ),
  };
  const host = str(o['host']);
  if (host !== '') probe.host = host;
  return probe;
}

function tcpProbe(o: Obj, path: string): TcpHealthProbe {
  if (o['proxy_protocol_config'] !== undefined) fail(at(path, 'proxy_protocol_config'), 'not supported by the sidecar');
  const probe: TcpHealthProbe = {
    kind: 'tcp',
    receive: objList(o['receive'], at(path, 'receive')).map((p, i) => payload(p, at(at(path, 'receive'), i))),
  };
  const send = optObj(o['send'], at(path, 'send'));
  if (send !== undefined && (send['text'] !== undefined || send['binary'] !== undefined)) {
    probe.send = payload(send, at(path, 'send'));
  }
  return probe;
}

function grpcProbe(o: Obj, path: string): GrpcHealthProbe {
  const probe: GrpcHealthProbe = {
    kind: 'grpc',
    serviceName: str(o['service_name']),
    initialMetadata: headers(o['initial_metadata'], at(path, 'initial_metadata')),
  };
  const authority = str(o['authority']);
  if (authority !== '') probe.authority = authority;
  return probe;
}

function probeOf(o: Obj, path: string): HealthProbe {
  const http = optObj(o['http_health_check'], at(path, 'http_health_check'));
  if (http) return httpProbe(http, at(path, 'http_health_check'));
  const tcp = optObj(o['tcp_health_check'], at(path, 'tcp_health_check'));
  if (tcp) return tcpProbe(tcp, at(path, 'tcp_health_check'));
  const grpc = optObj(o['grpc_health_check'], at(path, 'grpc_health_check'));
  if (grpc) return grpcProbe(grpc, at(path, 'grpc_health_check'));
  if (o['custom_health_check'] !== undefined) fail(at(path, 'custom_health_check'), 'not supported by the sidecar');
  return fail(path, 'needs http_health_check, tcp_health_check or grpc_health_check');
}

/** One HealthCheck. */
export function healthCheck(o: Obj, path: string): HealthCheckConfig {
  const percent = num(o['interval_jitter_percent'], at(path, 'interval_jitter_percent'), 0);
  if (!Number.isInteger(percent) || percent < 0) fail(at(path, 'interval_jitter_percent'), 'expected an integer ≥ 0');
  const config: HealthCheckConfig = {
    probe: probeOf(o, path),
    timeoutMs: requiredMs(o, 'timeout', path),
    intervalMs: requiredMs(o, 'interval', path),
    initialJitterMs: durationMs(o['initial_jitter'], at(path, 'initial_jitter'), 0),
    intervalJitterMs: durationMs(o['interval_jitter'], at(path, 'interval_jitter'), 0),
    intervalJitterPercent: percent,
    healthyThreshold: threshold(o, 'healthy_threshold', path),
    unhealthyThreshold: threshold(o, 'unhealthy_threshold', path),
    reuseConnection: wrappedBool(o['reuse_connection'], at(path, 'reuse_connection'), true),
  };
  const optional = [
    ['no_traffic_interval', 'noTrafficIntervalMs'],
    ['no_traffic_healthy_interval', 'noTrafficHealthyIntervalMs'],
    ['unhealthy_interval', 'unhealthyIntervalMs'],
    ['unhealthy_edge_interval', 'unhealthyEdgeIntervalMs'],
    ['healthy_edge_interval', 'healthyEdgeIntervalMs'],
  ] as const;
  for (const [field, key] of optional) {
    const ms = optionalMs(o, field, path);
    if (ms !== undefined) config[key] = ms;
  }
  return config;
}

/** A cluster's health_checks; undefined when there are none. Envoy refuses more than one, and so do we. */
export function healthChecks(v: unknown, path = 'health_checks'): HealthCheckConfig[] | undefined {
  const list = objList(v, path).map((o, i) => healthCheck(o, at(path, i)));
  if (list.length > 1) fail(path, 'multiple health checks are not supported (Envoy allows one)');
  return list.length > 0 ? list : undefined;
}
