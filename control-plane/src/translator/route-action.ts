// Route actions: destinations to cluster / weighted_clusters, rewrites, timeouts, retries and hash policies.
import { duration } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { ConsistentHash, HttpRule, RetryPolicy, RouteDestination } from '../resources/types.ts';
import type { ClientKind } from '../xds/node.ts';
import type { MeshIndex } from './mesh-index.ts';
import { clusterName } from './names.ts';
import { durationOf, u32 } from './proto-values.ts';

/** Envoy's HTTP retry_on conditions. */
const HTTP_RETRY_ON: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
]);

/** Envoy's gRPC retry_on conditions, the only ones gRPC proxyless clients act on; numeric gRPC codes map too. */
const GRPC_RETRY_ON: Readonly<Record<string, string>> = {
  cancelled: 'cancelled',
  'deadline-exceeded': 'deadline-exceeded',
  internal: 'internal',
  'resource-exhausted': 'resource-exhausted',
  unavailable: 'unavailable',
  '1': 'cancelled',
  '4': 'deadline-exceeded',
  '8': 'resource-exhausted',
  '13': 'internal',
  '14': 'unavailable',
};

/** retry_on when a rule asks for retries without naming conditions (Istio's defaults, as Envoy names). */
export const DEFAULT_RETRY_ON: readonly string[] = [
  'connect-failure',
  'refused-stream',
  'unavailable',
  'cancelled',
  'gateway-error',
];

/** The Envoy retry_on name for an operator condition ('5xx', 'UNAVAILABLE', 'deadline_exceeded', '14'), if any. */
export function retryOnName(condition: string): string | undefined {
  const n = condition.trim().toLowerCase().replace(/_/g, '-');
  if (HTTP_RETRY_ON.has(n)) return n;
  return GRPC_RETRY_ON[n];
}

export function retryPolicy(
  retries: RetryPolicy | undefined,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  // gRPC NACKs num_retries < 1, and Envoy's default without a policy is already "no retries".
  if (!retries || !(retries.attempts >= 1)) return undefined;
  const names: string[] = [];
  for (const c of retries.retryOn ?? []) {
    const n = retryOnName(c);
    if (n === undefined) warn(`retries.retryOn: unknown condition '${c}' ignored`);
    else if (!names.includes(n)) names.push(n);
  }
  const policy: Record<string, unknown> = {
    retry_on: (names.length > 0 ? names : DEFAULT_RETRY_ON).join(','),
    num_retries: u32(Math.floor(retries.attempts)),
  };
  const perTry = durationOf(retries.perTryTimeout);
  if (perTry) policy['per_try_timeout'] = perTry;
  return policy;
}

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

/** Route hash_policy for a service's consistent hash; gRPC honours only headers (and its channel id). */
export function hashPolicy(hash: ConsistentHash | undefined, client: ClientKind): Record<string, unknown>[] {
  if (!hash) return [];
  const out: Record<string, unknown>[] = [];
  if (hash.header !== undefined) out.push({ header: { header_name: hash.header.toLowerCase() } });
  if (client === 'proxyless') {
    if (hash.sourceIp) out.push({ filter_state: { key: 'io.grpc.channel_id' } });
    return out;
  }
  if (hash.cookie) {
    const cookie: Record<string, unknown> = { name: hash.cookie.name };
    const ttl = hash.cookie.ttl === undefined ? undefined : parseDuration(hash.cookie.ttl);
    if (ttl !== undefined) cookie['ttl'] = duration(ttl);
    if (hash.cookie.path !== undefined) cookie['path'] = hash.cookie.path;
    out.push({ cookie });
  }
  if (hash.sourceIp) out.push({ connection_properties: { source_ip: true } });
  if (hash.queryParam !== undefined) out.push({ query_parameter: { name: hash.queryParam } });
  return out;
}

/** The full RouteAction of a rule, or undefined when none of its destinations exist. */
export function ruleAction(
  rule: HttpRule,
  routePort: number,
  index: MeshIndex,
  client: ClientKind,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  const specifier = clusterSpecifier(rule.route, routePort, index, warn);
  if (!specifier) return undefined;
  const action: Record<string, unknown> = { ...specifier };
  const firstWithHash = rule.route.find((d) => index.policyOf(d.service)?.loadBalancer?.consistentHash);
  const hash = hashPolicy(firstWithHash && index.policyOf(firstWithHash.service)?.loadBalancer?.consistentHash, client);
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
  const retry = retryPolicy(rule.retries, warn);
  if (retry) action['retry_policy'] = retry;
  return action;
}
