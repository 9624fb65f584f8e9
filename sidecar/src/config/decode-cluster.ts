// Decodes a Cluster (CDS) into the model: discovery, LB policy, timeouts, breakers, outlier detection, health checks.

import { localities } from './decode-endpoint.ts';
import { healthChecks } from './decode-health-check.ts';
import { outlierDetection } from './decode-outlier-detection.ts';
import { clusterTransport } from './decode-tls.ts';
import {
  anyTypeName,
  at,
  type Decoded,
  decodeResource,
  durationMs,
  enumName,
  fail,
  num,
  type Obj,
  objList,
  optObj,
  str,
  structToJson,
  wrappedNum,
} from './decode-values.ts';
import type { CircuitBreakers, ClusterConfig, LbPolicyName } from './model.ts';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** gRPC and Envoy cap the ring at 8M entries. */
const MAX_RING_SIZE = 8_388_608;

const LB_POLICIES: ReadonlySet<string> = new Set(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV']);
/** Trellis metadata lb_algorithm values that refine LEAST_REQUEST for Trellis sidecars. */
const SIDECAR_ALGORITHMS: ReadonlySet<string> = new Set(['LEAST_CONNECTIONS', 'LEAST_RESPONSE_TIME']);

/** load_balancing_policy extension types and the lb_policy each stands for. */
const TYPED_POLICIES: Readonly<Record<string, LbPolicyName>> = {
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin': 'ROUND_ROBIN',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest': 'LEAST_REQUEST',
  'envoy.extensions.load_balancing_policies.random.v3.Random': 'RANDOM',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash': 'RING_HASH',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev': 'MAGLEV',
};
const WRR_LOCALITY = 'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality';

/** Ring hash config as lbConfig: { minimumRingSize, maximumRingSize, hashFunction }. */
function ringHashConfig(o: Obj | undefined, path: string): Record<string, unknown> {
  const min = wrappedNum(o?.['minimum_ring_size'], at(path, 'minimum_ring_size'), 1024);
  const max = wrappedNum(o?.['maximum_ring_size'], at(path, 'maximum_ring_size'), MAX_RING_SIZE);
  if (max > MAX_RING_SIZE) fail(at(path, 'maximum_ring_size'), `at most ${MAX_RING_SIZE}`);
  if (min > max) fail(at(path, 'minimum_ring_size'), 'larger than maximum_ring_size');
  return { minimumRingSize: min, maximumRingSize: max, hashFunction: enumName(o?.['hash_function'], 'XX_HASH') };
}

/** The first policy of load_balancing_policy the sidecar implements (Envoy picks the first it supports too). */
function typedPolicy(v: Obj, path: string): { policy: LbPolicyName; config: Record<string, unknown> } {
  const ppath = at(path, 'policies');
  const seen: string[] = [];
  for (const [i, p] of objList(v['policies'], ppath).entries()) {
    const epath = at(at(ppath, i), 'typed_extension_config');
    const cpath = at(epath, 'typed_config');
    const config = optObj(optObj(p['typed_extension_config'], epath)?.['typed_config'], cpath) ?? {};
    const type = anyTypeName(config);
    if (type === WRR_LOCALITY) {
      const child = optObj(config['endpoint_picking_policy'], at(cpath, 'endpoint_picking_policy'));
      if (!child) fail(cpath, 'needs endpoint_picking_policy');
      return typedPolicy(child, at(cpath, 'endpoint_picking_policy'));
    }
    const policy = TYPED_POLICIES[type];
    seen.push(type);
    if (policy === 'RING_HASH') return { policy, config: ringHashConfig(config, cpath) };
    if (policy === 'LEAST_REQUEST') {
      return { policy, config: { choiceCount: wrappedNum(config['choice_count'], at(cpath, 'choice_count'), 2) } };
    }
    if (policy !== undefined) return { policy, config: {} };
  }
  return fail(ppath, `no supported load balancing policy among ${seen.join(', ') || '(none)'}`);
}

function lbPolicy(
  o: Obj,
  metadata: Record<string, unknown>,
): { policy: LbPolicyName; config: Record<string, unknown> } {
  const typed = optObj(o['load_balancing_policy'], 'load_balancing_policy');
  if (typed) return typedPolicy(typed, 'load_balancing_policy');
  const name = enumName(o['lb_policy'], 'ROUND_ROBIN');
  if (!LB_POLICIES.has(name)) fail('lb_policy', `unsupported lb policy ${name}`);
  const algorithm = metadata['lb_algorithm'];
  if (name === 'LEAST_REQUEST' && typeof algorithm === 'string' && SIDECAR_ALGORITHMS.has(algorithm)) {
    return { policy: algorithm as LbPolicyName, config: {} };
  }
  if (name === 'RING_HASH') {
    return {
      policy: name,
      config: ringHashConfig(optObj(o['ring_hash_lb_config'], 'ring_hash_lb_config'), 'ring_hash_lb_config'),
    };
  }
  if (name === 'LEAST_REQUEST') {
    const lr = optObj(o['least_request_lb_config'], 'least_request_lb_config');
    return {
      policy: name,
      config: { choiceCount: wrappedNum(lr?.['choice_count'], 'least_request_lb_config.choice_count', 2) },
    };
  }
  if (name === 'MAGLEV') {
    const mg = optObj(o['maglev_lb_config'], 'maglev_lb_config');
    return {
      policy: name,
      config: { tableSize: wrappedNum(mg?.['table_size'], 'maglev_lb_config.table_size', 65537) },
    };
  }
  return { policy: name as LbPolicyName, config: {} };
}

/** HTTP/2 upstream when HttpProtocolOptions (or the legacy cluster field) asks for it explicitly. */
function protocolOf(o: Obj): ClusterConfig['protocol'] {
  if (o['http2_protocol_options'] !== undefined) return 'http2';
  const opts = optObj(o['typed_extension_protocol_options'], 'typed_extension_protocol_options') ?? {};
  const path = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS)}]`;
  const http = optObj(opts[HTTP_PROTOCOL_OPTIONS], path);
  if (!http) return 'http1';
  const explicit = optObj(http['explicit_http_config'], at(path, 'explicit_http_config'));
  if (explicit?.['http2_protocol_options'] !== undefined) return 'http2';
  if (explicit?.['http3_protocol_options'] !== undefined)
    fail(at(path, 'explicit_http_config'), 'HTTP/3 is not supported');
  if (http['use_downstream_protocol_config'] !== undefined || http['auto_config'] !== undefined) {
    fail(path, 'only explicit_http_config is supported');
  }
  return 'http1';
}

/**
 * HttpProtocolOptions `common_http_protocol_options.idle_timeout`: pooled upstream connections idle this long close
 * (0 = never); undefined when unset (the pools' own default applies).
 */
function upstreamIdleTimeoutMs(o: Obj): number | undefined {
  const opts = optObj(o['typed_extension_protocol_options'], 'typed_extension_protocol_options') ?? {};
  const path = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS)}]`;
  const http = optObj(opts[HTTP_PROTOCOL_OPTIONS], path);
  const common = optObj(http?.['common_http_protocol_options'], at(path, 'common_http_protocol_options'));
  if (common?.['idle_timeout'] === undefined) return undefined;
  return durationMs(common['idle_timeout'], at(at(path, 'common_http_protocol_options'), 'idle_timeout'), 0);
}

function circuitBreakers(o: Obj): CircuitBreakers {
  const thresholds = objList(
    optObj(o['circuit_breakers'], 'circuit_breakers')?.['thresholds'],
    'circuit_breakers.thresholds',
  );
  const i = thresholds.findIndex((t) => enumName(t['priority'], 'DEFAULT') === 'DEFAULT');
  const t = thresholds[i] ?? {};
  const path = `circuit_breakers.thresholds[${i}]`;
  const breakers: CircuitBreakers = {
    maxConnections: wrappedNum(t['max_connections'], at(path, 'max_connections'), 1024),
    maxPendingRequests: wrappedNum(t['max_pending_requests'], at(path, 'max_pending_requests'), 1024),
    maxRequests: wrappedNum(t['max_requests'], at(path, 'max_requests'), 1024),
    maxRetries: wrappedNum(t['max_retries'], at(path, 'max_retries'), 3),
  };
  const budget = optObj(t['retry_budget'], at(path, 'retry_budget'));
  if (budget !== undefined) {
    const bpath = at(path, 'retry_budget');
    const budgetPercent = wrappedNum(budget['budget_percent'], at(bpath, 'budget_percent'), 20);
    if (!(budgetPercent >= 0 && budgetPercent <= 100))
      fail(at(bpath, 'budget_percent'), `expected a percentage from 0 to 100, got ${budgetPercent}`);
    const minRetryConcurrency = wrappedNum(budget['min_retry_concurrency'], at(bpath, 'min_retry_concurrency'), 3);
    breakers.retryBudget = { budgetPercent, minRetryConcurrency };
  }
  return breakers;
}

/** common_lb_config.healthy_panic_threshold (a Percent, 0-100); undefined when absent (Envoy's default 50 applies). */
function panicThreshold(o: Obj): number | undefined {
  const common = optObj(o['common_lb_config'], 'common_lb_config');
  const path = 'common_lb_config.healthy_panic_threshold';
  const percent = optObj(common?.['healthy_panic_threshold'], path);
  if (percent === undefined) return undefined;
  const value = num(percent['value'], at(path, 'value'), 0);
  if (value < 0 || value > 100) fail(at(path, 'value'), `expected a percentage from 0 to 100, got ${value}`);
  return value;
}

/** Cluster fields the sidecar cannot honour (ignoring them would change where or how traffic goes). */
const UNSUPPORTED_FIELDS = ['cluster_type', 'lb_subset_config'];

/** A Cluster object (throws DecodeError). */
export function cluster(o: Obj, version: string): ClusterConfig {
  for (const field of UNSUPPORTED_FIELDS) {
    if (o[field] !== undefined) fail(field, 'not supported by the sidecar');
  }
  const name = str(o['name']);
  const type = enumName(o['type'], 'STATIC');
  if (type !== 'EDS' && type !== 'STATIC') fail('type', `unsupported discovery type ${type}`);
  const metadata = structToJson(
    optObj(optObj(o['metadata'], 'metadata')?.['filter_metadata'], 'metadata.filter_metadata')?.['trellis'],
  );
  const lb = lbPolicy(o, metadata);
  const config: ClusterConfig = {
    name,
    discovery: type === 'EDS' ? 'eds' : 'static',
    edsServiceName: '',
    staticEndpoints: [],
    lbPolicy: lb.policy,
    lbConfig: lb.config,
    connectTimeoutMs: durationMs(o['connect_timeout'], 'connect_timeout', DEFAULT_CONNECT_TIMEOUT_MS),
    protocol: protocolOf(o),
    circuitBreakers: circuitBreakers(o),
    metadata,
    version,
  };
  const idleTimeoutMs = upstreamIdleTimeoutMs(o);
  if (idleTimeoutMs !== undefined) config.idleTimeoutMs = idleTimeoutMs;
  const transport = clusterTransport(o);
  if (transport.some((m) => m.tls !== undefined)) config.transportSockets = transport;
  if (type === 'EDS') {
    const eds = optObj(o['eds_cluster_config'], 'eds_cluster_config') ?? {};
    const source = optObj(eds['eds_config'], 'eds_cluster_config.eds_config');
    if (source && source['ads'] === undefined && source['self'] === undefined) {
      fail('eds_cluster_config.eds_config', 'only ADS (ads or self) config sources are supported');
    }
    config.edsServiceName = str(eds['service_name']) || name;
  } else {
    const la = optObj(o['load_assignment'], 'load_assignment') ?? {};
    config.staticEndpoints = localities(la['endpoints'], 'load_assignment.endpoints');
  }
  const od = outlierDetection(o['outlier_detection']);
  if (od) config.outlierDetection = od;
  const checks = healthChecks(o['health_checks']);
  if (checks) config.healthChecks = checks;
  const panic = panicThreshold(o);
  if (panic !== undefined) config.healthyPanicThresholdPercent = panic;
  return config;
}

/** Decodes a CDS resource. */
export function decodeCluster(o: Obj, version: string): Decoded<ClusterConfig> {
  return decodeResource('cluster', str(o['name']), () => cluster(o, version));
}
