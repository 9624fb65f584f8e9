// A TrafficPolicy's rateLimit as Envoy's local rate limit filter on the service's inbound connection manager: the
// service-wide bucket, and a bucket per client through a descriptor the inbound route's `rate_limits` make.
import { duration, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { RateLimit } from '../resources/types.ts';

export const RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
/** The filter's stats: `inbound_rate_limit.http_local_rate_limit.{enabled,ok,rate_limited,enforced}`. */
export const RATE_LIMIT_STAT_PREFIX = 'inbound_rate_limit';
/** The descriptor key of a per-client limit by header. */
const CLIENT_KEY = 'client_key';

const UNIT_MS: Readonly<Record<NonNullable<RateLimit['unit']>, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
};

function share(percent: number, runtimeKey: string): Record<string, unknown> {
  return { default_value: { numerator: percent, denominator: 'HUNDRED' }, runtime_key: runtimeKey };
}

function tokenBucket(b: { requestsPerUnit: number; unit: NonNullable<RateLimit['unit']>; burst?: number }) {
  return {
    max_tokens: b.burst ?? b.requestsPerUnit,
    tokens_per_fill: { value: b.requestsPerUnit },
    fill_interval: duration(UNIT_MS[b.unit]),
  };
}

/** The HTTP filter (before the router) that holds the service's requests to its rates. */
export function rateLimitHttpFilter(limit: RateLimit): Record<string, unknown> {
  const config: Record<string, unknown> = {
    '@type': typeUrl(EXTENSION_TYPES.localRateLimit),
    stat_prefix: RATE_LIMIT_STAT_PREFIX,
    filter_enabled: share(100, 'local_rate_limit_enabled'),
    filter_enforced: share(limit.enforce === false ? 0 : 100, 'local_rate_limit_enforced'),
    // gRPC callers are told to back off (RESOURCE_EXHAUSTED), not that the service is down (UNAVAILABLE).
    rate_limited_as_resource_exhausted: true,
    // Every response tells the client its quota: x-ratelimit-limit, -remaining, -reset.
    enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
  };
  if (limit.requestsPerUnit !== undefined && limit.unit !== undefined)
    config['token_bucket'] = tokenBucket({
      requestsPerUnit: limit.requestsPerUnit,
      unit: limit.unit,
      ...burstOf(limit),
    });
  const perClient = limit.perClient;
  if (perClient !== undefined) {
    // An empty value: a bucket per distinct client address or header value.
    const key = perClient.by === undefined ? 'remote_address' : CLIENT_KEY;
    config['descriptors'] = [{ entries: [{ key, value: '' }], token_bucket: tokenBucket(perClient) }];
  }
  return { name: RATE_LIMIT_FILTER_NAME, typed_config: config };
}

function burstOf(limit: RateLimit): { burst?: number } {
  return limit.burst === undefined ? {} : { burst: limit.burst };
}

/** The inbound route's `rate_limits`: the descriptor a per-client limit counts by (none without one). */
export function rateLimitRouteFields(limit: RateLimit | undefined): Record<string, unknown> {
  const perClient = limit?.perClient;
  if (perClient === undefined) return {};
  const action =
    perClient.by === undefined
      ? { remote_address: {} }
      : { request_headers: { header_name: perClient.by.header, descriptor_key: CLIENT_KEY } };
  return { rate_limits: [{ actions: [action] }] };
}
