// Route actions: destinations to cluster / weighted_clusters, rewrites, timeouts, retries and hash policies.

import type { ClientKind } from '@trellis/node-contract';
import type { HttpRule, RouteDestination } from '../resources/types.ts';
import { hashesRequests, hashPolicyFor } from './hash-policy.ts';
import type { MeshIndex } from './mesh-index.ts';
import { clusterName } from './names.ts';
import { durationOf, u32 } from './proto-values.ts';
import { retryPolicy } from './retry-policy.ts';

/** The cluster a destination reaches from a route configuration on `routePort`, or undefined when it does not exist. */
export function destinationCluster(dest: RouteDestination, routePort: number, index: MeshIndex): string | undefined {
  const svc = index.serviceByName.get(dest.service);
  if (!svc) return undefined;
  const ports = svc.spec.ports.map((p) => p.port);
  const port = dest.port ?? (ports.includes(routePort) ? routePort : ports[0]);
  if (port === undefined) return undefined;
  const name = clusterName(dest.service, port, dest.subset);
  return index.clusterNames.has(name) ? name : undefined;
}

/**
 * cluster or weighted_clusters for a rule's destinations. Unweighted lists split evenly; otherwise a missing
 * weight counts as 0. Zero weights are left out, and a single remaining cluster becomes a plain `cluster`.
 */
export function clusterSpecifier(
  destinations: readonly RouteDestination[],
  routePort: number,
  index: MeshIndex,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  const allUnweighted = destinations.every((d) => d.weight === undefined);
  const weights = new Map<string, number>();
  for (const [i, d] of destinations.entries()) {
    const name = destinationCluster(d, routePort, index);
    if (name === undefined) {
      const what = `${d.service}${d.port === undefined ? '' : `:${d.port}`}${d.subset === undefined ? '' : ` subset ${d.subset}`}`;
      warn(`route[${i}]: destination ${what} does not exist; left out`);
      continue;
    }
    const w = allUnweighted ? 1 : Math.max(0, Math.floor(d.weight ?? 0));
    weights.set(name, (weights.get(name) ?? 0) + w);
  }
  if (weights.size === 0) return undefined;
  let positive = [...weights].filter(([, w]) => w > 0);
  if (positive.length === 0) {
    warn('route: every destination weighs 0; splitting evenly');
    positive = [...weights.keys()].map((n) => [n, 1]);
  }
  const [only] = positive;
  if (positive.length === 1 && only) return { cluster: only[0] };
  return { weighted_clusters: { clusters: positive.map(([name, weight]) => ({ name, weight: u32(weight) })) } };
}

/** The full RouteAction of a rule, or undefined when none of its destinations exist. */
export function ruleAction(
  rule: HttpRule,
  routePort: number,
  index: MeshIndex,
  client: ClientKind,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  const destinations = rule.route ?? [];
  const specifier = clusterSpecifier(destinations, routePort, index, warn);
  if (!specifier) return undefined;
  const action: Record<string, unknown> = { ...specifier };
  const firstWithHash = destinations.find((d) => hashesRequests(index.policyOf(d.service)?.loadBalancer));
  const hash = firstWithHash ? hashPolicyFor(index.policyOf(firstWithHash.service)?.loadBalancer, client) : [];
  if (hash.length > 0) action['hash_policy'] = hash;
  const rw = rule.rewrite;
  if (rw?.pathPrefix !== undefined) {
    action['prefix_rewrite'] = rw.pathPrefix;
    if (rw.regex) warn('rewrite: pathPrefix and regex are exclusive; regex ignored');
  } else if (rw?.regex) {
    action['regex_rewrite'] = { pattern: { regex: rw.regex.pattern }, substitution: rw.regex.substitution };
  }
  if (rw?.host !== undefined) action['host_rewrite_literal'] = rw.host;
  const timeout = durationOf(rule.timeout);
  if (timeout) {
    action['timeout'] = timeout;
    // gRPC clients take their deadline from max_stream_duration, not from timeout.
    action['max_stream_duration'] = { max_stream_duration: timeout };
  }
  // gRPC has no per-stream idle timeout: proxies only.
  const idle = client === 'proxyless' ? undefined : durationOf(rule.idleTimeout);
  if (idle) action['idle_timeout'] = idle;
  const retry = retryPolicy(rule.retries, client, warn);
  if (retry) action['retry_policy'] = retry;
  const mirror = rule.mirror;
  if (mirror !== undefined && client !== 'proxyless') {
    const cluster = destinationCluster(mirror, routePort, index);
    if (cluster === undefined) warn(`mirror: destination ${mirror.service} does not exist; no copies`);
    else {
      const numerator = Math.round((mirror.percent ?? 100) * 10_000);
      action['request_mirror_policies'] = [
        { cluster, runtime_fraction: { default_value: { numerator, denominator: 'MILLION' } } },
      ];
    }
  }
  return action;
}
