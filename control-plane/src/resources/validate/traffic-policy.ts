// Validates a TrafficPolicy spec: target service and subsets; load balancing and resilience each have their own module.
import { validateCompression } from './compression.ts';
import { validateConnectionPool } from './connection-pool.ts';
import { validateHealthCheck } from './health-check.ts';
import { field, type Issues } from './issues.ts';
import { validateLabels } from './labels.ts';
import { validateLoadBalancer } from './load-balancer.ts';
import { validateOutlierDetection } from './outlier-detection.ts';
import { validateRateLimit } from './rate-limit.ts';
import { validateResponseCache } from './response-cache.ts';
import { validateTypeScriptFilters } from './typescript-filters.ts';

export const TRAFFIC_POLICY_FIELDS = [
  'service',
  'subsets',
  'loadBalancer',
  'healthCheck',
  'outlierDetection',
  'connectionPool',
  'rateLimit',
  'compression',
  'responseCache',
  'filters',
];

export function validateTrafficPolicySpec(spec: Record<string, unknown>, issues: Issues): void {
  if (issues.required(spec, 'spec', 'service', 'the name of a Service'))
    issues.dnsLabel(spec['service'], 'spec.service');
  if (spec['subsets'] !== undefined) {
    const subsets = issues.list(spec['subsets'], 'spec.subsets', 'subsets ({name, labels})');
    if (subsets) validateSubsets(subsets, 'spec.subsets', issues);
  }
  if (spec['loadBalancer'] !== undefined) validateLoadBalancer(spec['loadBalancer'], 'spec.loadBalancer', issues);
  if (spec['healthCheck'] !== undefined) validateHealthCheck(spec['healthCheck'], 'spec.healthCheck', issues);
  if (spec['outlierDetection'] !== undefined)
    validateOutlierDetection(spec['outlierDetection'], 'spec.outlierDetection', issues);
  if (spec['connectionPool'] !== undefined)
    validateConnectionPool(spec['connectionPool'], 'spec.connectionPool', issues);
  if (spec['rateLimit'] !== undefined) validateRateLimit(spec['rateLimit'], 'spec.rateLimit', issues);
  if (spec['compression'] !== undefined) validateCompression(spec['compression'], 'spec.compression', issues);
  if (spec['responseCache'] !== undefined) validateResponseCache(spec['responseCache'], 'spec.responseCache', issues);
  if (spec['filters'] !== undefined) validateTypeScriptFilters(spec['filters'], 'spec.filters', issues);
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
      validateLabels(s['labels'], field(at, 'labels'), issues, true);
  });
}
