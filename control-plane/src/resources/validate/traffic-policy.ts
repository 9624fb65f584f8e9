// Validates a TrafficPolicy spec: target service, subsets, load balancer (and consistent hash), outlier detection, pools.
import type { LbAlgorithm } from '../types.ts';
import { field, type Issues } from './issues.ts';

export const LB_ALGORITHMS: readonly LbAlgorithm[] = [
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RANDOM',
  'RING_HASH',
  'MAGLEV',
  'LEAST_CONNECTIONS',
  'LEAST_RESPONSE_TIME',
];

/** Algorithms that take a consistentHash key. */
export const HASH_ALGORITHMS: readonly LbAlgorithm[] = ['RING_HASH', 'MAGLEV'];

const UINT32_MAX = 4_294_967_295;
const HASH_KEYS = ['header', 'cookie', 'sourceIp', 'queryParam'];

export const TRAFFIC_POLICY_FIELDS = ['service', 'subsets', 'loadBalancer', 'outlierDetection', 'connectionPool'];

export function validateTrafficPolicySpec(spec: Record<string, unknown>, issues: Issues): void {
  if (issues.required(spec, 'spec', 'service', 'the name of a Service'))
    issues.dnsLabel(spec['service'], 'spec.service');
  if (spec['subsets'] !== undefined) {
    const subsets = issues.list(spec['subsets'], 'spec.subsets', 'subsets ({name, labels})');
    if (subsets) validateSubsets(subsets, 'spec.subsets', issues);
  }
  if (spec['loadBalancer'] !== undefined) validateLoadBalancer(spec['loadBalancer'], 'spec.loadBalancer', issues);
  if (spec['outlierDetection'] !== undefined)
    validateOutlier(spec['outlierDetection'], 'spec.outlierDetection', issues);
  if (spec['connectionPool'] !== undefined) validatePool(spec['connectionPool'], 'spec.connectionPool', issues);
}

function validateSubsets(subsets: unknown[], path: string, issues: Issues): void {
  const names = new Map<string, number>();
  subsets.forEach((value, i) => {
    const at = field(path, i);
    const s = issues.object(value, at, ['name', 'labels']);
    if (!s) return;
    if (issues.required(s, at, 'name', 'a DNS-1123 label') && issues.dnsLabel(s['name'], field(at, 'name'))) {
      const first = names.get(s['name']);
      if (first !== undefined)
        issues.add(field(at, 'name'), `duplicate subset name "${s['name']}" (also subsets[${first}])`);
      else names.set(s['name'], i);
    }
    if (issues.required(s, at, 'labels', 'a non-empty mapping of labels'))
      issues.stringMap(s['labels'], field(at, 'labels'), true);
  });
}

function validateLoadBalancer(value: unknown, path: string, issues: Issues): void {
  const lb = issues.object(value, path, ['algorithm', 'consistentHash']);
  if (!lb) return;
  const algorithm = lb['algorithm'];
  const known =
    issues.required(lb, path, 'algorithm', `one of ${LB_ALGORITHMS.join('|')}`) &&
    issues.oneOf(algorithm, field(path, 'algorithm'), LB_ALGORITHMS);
  if (lb['consistentHash'] === undefined) return;
  const at = field(path, 'consistentHash');
  if (known && !HASH_ALGORITHMS.includes(algorithm)) {
    issues.add(at, `only allowed with algorithm ${HASH_ALGORITHMS.join(' or ')}, got ${algorithm}`);
  }
  const hash = issues.object(lb['consistentHash'], at, HASH_KEYS);
  if (!hash) return;
  issues.exactlyOne(hash, at, HASH_KEYS);
  if (hash['header'] !== undefined) issues.string(hash['header'], field(at, 'header'));
  if (hash['queryParam'] !== undefined) issues.string(hash['queryParam'], field(at, 'queryParam'));
  if (hash['sourceIp'] !== undefined && hash['sourceIp'] !== true)
    issues.expected(field(at, 'sourceIp'), 'true', hash['sourceIp']);
  if (hash['cookie'] !== undefined) {
    const cat = field(at, 'cookie');
    const cookie = issues.object(hash['cookie'], cat, ['name', 'ttl', 'path']);
    if (cookie && issues.required(cookie, cat, 'name', 'a cookie name'))
      issues.string(cookie['name'], field(cat, 'name'));
    if (cookie?.['ttl'] !== undefined) issues.duration(cookie['ttl'], field(cat, 'ttl'));
    const cookiePath = cookie?.['path'];
    if (cookiePath !== undefined && (typeof cookiePath !== 'string' || !cookiePath.startsWith('/'))) {
      issues.expected(field(cat, 'path'), 'a path starting with "/"', cookiePath);
    }
  }
}

function validateOutlier(value: unknown, path: string, issues: Issues): void {
  const od = issues.object(value, path, [
    'consecutive5xx',
    'consecutiveGatewayErrors',
    'interval',
    'baseEjectionTime',
    'maxEjectionPercent',
  ]);
  if (!od) return;
  for (const key of ['consecutive5xx', 'consecutiveGatewayErrors']) {
    if (od[key] !== undefined) issues.integer(od[key], field(path, key), 1, UINT32_MAX);
  }
  for (const key of ['interval', 'baseEjectionTime']) {
    if (od[key] !== undefined) issues.duration(od[key], field(path, key), true);
  }
  if (od['maxEjectionPercent'] !== undefined)
    issues.integer(od['maxEjectionPercent'], field(path, 'maxEjectionPercent'), 0, 100);
}

function validatePool(value: unknown, path: string, issues: Issues): void {
  const pool = issues.object(value, path, [
    'connectTimeout',
    'maxConnections',
    'maxPendingRequests',
    'maxRequests',
    'maxRetries',
  ]);
  if (!pool) return;
  if (pool['connectTimeout'] !== undefined)
    issues.duration(pool['connectTimeout'], field(path, 'connectTimeout'), true);
  for (const key of ['maxConnections', 'maxPendingRequests', 'maxRequests']) {
    if (pool[key] !== undefined) issues.integer(pool[key], field(path, key), 1, UINT32_MAX);
  }
  if (pool['maxRetries'] !== undefined) issues.integer(pool['maxRetries'], field(path, 'maxRetries'), 0, UINT32_MAX);
}
