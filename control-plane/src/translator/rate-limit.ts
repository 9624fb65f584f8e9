// A TrafficPolicy's rateLimit as Envoy's local rate limit filter on the service's inbound connection manager.
import { duration, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { RateLimit } from '../resources/types.ts';

export const RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
/** The filter's stats: `inbound_rate_limit.http_local_rate_limit.{enabled,ok,rate_limited,enforced}`. */
export const RATE_LIMIT_STAT_PREFIX = 'inbound_rate_limit';

const UNIT_MS: Readonly<Record<RateLimit['unit'], number>> = { second: 1000, minute: 60_000, hour: 3_600_000 };

function share(percent: number, runtimeKey: string): Record<string, unknown> {
  return { default_value: { numerator: percent, denominator: 'HUNDRED' }, runtime_key: runtimeKey };
}

/** The HTTP filter (before the router) that holds the service's requests to its rate. */
export function rateLimitHttpFilter(limit: RateLimit): Record<string, unknown> {
  return {
    name: RATE_LIMIT_FILTER_NAME,
    typed_config: {
      '@type': typeUrl(EXTENSION_TYPES.localRateLimit),
      stat_prefix: RATE_LIMIT_STAT_PREFIX,
      token_bucket: {
        max_tokens: limit.burst ?? limit.requestsPerUnit,
        tokens_per_fill: { value: limit.requestsPerUnit },
        fill_interval: duration(UNIT_MS[limit.unit]),
      },
      filter_enabled: share(100, 'local_rate_limit_enabled'),
      filter_enforced: share(limit.enforce === false ? 0 : 100, 'local_rate_limit_enforced'),
      // gRPC callers are told to back off (RESOURCE_EXHAUSTED), not that the service is down (UNAVAILABLE).
      rate_limited_as_resource_exhausted: true,
      // Every response tells the client its quota: x-ratelimit-limit, -remaining, -reset.
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
    },
  };
}
