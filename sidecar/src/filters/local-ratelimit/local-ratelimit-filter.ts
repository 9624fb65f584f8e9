// envoy.filters.http.local_ratelimit: one token bucket per config (the connection manager's, or a route's override)
// shared by its requests, plus buckets per descriptor its routes' `rate_limits` make (per client address or header
// value where the configured value is empty, bounded); a spent bucket answers 429 (or the configured status) with
// retry-after and x-ratelimit-* headers, with Envoy's stats (<stat_prefix>.http_local_rate_limit.*).

import type { Stats } from '../../common/stats.ts';
import { TokenBucket } from '../../common/token-bucket.ts';
import {
  type Fraction,
  type HttpFilterTypedConfig,
  LOCAL_RATELIMIT_TYPE,
  type LocalRateLimitConfig,
} from '../../config/model.ts';
import { Answer } from '../../http/filter/answer.ts';
import type { FilterEnv, FilterStream, HttpFilter, PreparedFilter, ResponseHead } from '../../http/filter/filter.ts';
import { GrpcStatus } from '../../http/message/grpc.ts';
import { randomBelow } from '../../http/message/random.ts';
import type { LocalReply } from '../../http/message/reply.ts';
import { DescriptorBuckets, requestDescriptors } from './descriptors.ts';

/** Envoy's response flag for a request refused by a rate limit. */
const RATE_LIMITED_FLAG = 'RL';
const BODY = 'local_rate_limited';

function drawn(share: Fraction): boolean {
  if (share.numerator >= share.denominator) return true;
  return share.numerator > 0 && randomBelow(share.denominator) < share.numerator;
}

class PreparedLocalRateLimit implements PreparedFilter {
  readonly #config: LocalRateLimitConfig;
  readonly #bucket: TokenBucket | undefined;
  readonly #descriptors: readonly DescriptorBuckets[];
  readonly #stats: Stats;
  readonly #names: { enabled: string; enforced: string; limited: string; ok: string };

  constructor(config: LocalRateLimitConfig, stats: Stats, now?: () => number) {
    this.#config = config;
    this.#bucket = config.tokenBucket === undefined ? undefined : new TokenBucket(config.tokenBucket, now);
    // Descriptors with fixed values are matched before wildcard ones (Envoy's order).
    const all = config.descriptors.map((d) => new DescriptorBuckets(d, now));
    this.#descriptors = [...all.filter((d) => !d.wildcard), ...all.filter((d) => d.wildcard)];
    this.#stats = stats;
    const base = `${config.statPrefix}.http_local_rate_limit.`;
    this.#names = {
      enabled: `${base}enabled`,
      enforced: `${base}enforced`,
      limited: `${base}rate_limited`,
      ok: `${base}ok`,
    };
  }

  /** The descriptor buckets the request's route descriptors match (the first configured match per descriptor). */
  #matched(stream: FilterStream): TokenBucket[] {
    if (this.#descriptors.length === 0 || stream.rateLimits.length === 0) return [];
    const out: { bucket: TokenBucket; rate: number }[] = [];
    for (const descriptor of requestDescriptors(stream.rateLimits, stream)) {
      for (const d of this.#descriptors) {
        const bucket = d.bucketFor(descriptor);
        if (bucket !== undefined) {
          out.push({ bucket, rate: d.rate });
          break;
        }
      }
    }
    // The slowest-filling bucket is tried first: a looser one loses no token to a request a stricter one refuses.
    out.sort((a, b) => a.rate - b.rate);
    return out.map((m) => m.bucket);
  }

  create(stream: FilterStream): HttpFilter | undefined {
    const config = this.#config;
    if ((this.#bucket === undefined && this.#descriptors.length === 0) || !drawn(config.enabled)) return undefined;
    const matched = this.#matched(stream);
    // The default bucket counts every request, or (always_consume_default_token_bucket off) those no descriptor matched.
    const fallback = this.#bucket !== undefined && (matched.length === 0 || config.alwaysConsumeDefault);
    if (fallback) matched.push(this.#bucket as TokenBucket);
    if (matched.length === 0) return undefined;
    const stats = this.#stats;
    stats.inc(this.#names.enabled);
    let limiting: TokenBucket | undefined;
    for (const bucket of matched) {
      if (!bucket.consume()) {
        limiting = bucket;
        break;
      }
    }
    if (limiting === undefined) {
      stats.inc(this.#names.ok);
      if (!config.rateLimitHeaders) return undefined;
      // The quota the client is closest to spending.
      let tightest = matched[0] as TokenBucket;
      for (const b of matched) if (b.remaining < tightest.remaining) tightest = b;
      return new Quota(tightest);
    }
    stats.inc(this.#names.limited);
    if (!drawn(config.enforced)) return undefined;
    stats.inc(this.#names.enforced);
    const reset = String(Math.ceil(limiting.msToFill / 1000));
    const reply: LocalReply = {
      status: config.status,
      body: BODY,
      flags: RATE_LIMITED_FLAG,
      headers: [
        'retry-after',
        reset,
        'x-ratelimit-limit',
        String(limiting.spec.maxTokens),
        'x-ratelimit-remaining',
        '0',
        'x-ratelimit-reset',
        reset,
      ],
    };
    if (stream.grpc)
      reply.grpcStatus = config.resourceExhausted ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.UNAVAILABLE;
    return new Answer(reply);
  }
}

/** An admitted request whose response tells the client its quota (x-ratelimit-* of draft 03). */
class Quota implements HttpFilter {
  readonly #limit: string;
  readonly #remaining: string;
  readonly #reset: string;

  constructor(bucket: TokenBucket) {
    this.#limit = String(bucket.spec.maxTokens);
    this.#remaining = String(Math.floor(bucket.remaining));
    this.#reset = String(Math.ceil(bucket.msToFill / 1000));
  }

  onRequestHeaders(): 'continue' {
    return 'continue';
  }

  onResponseHeaders({ headers }: ResponseHead): undefined {
    headers.push('x-ratelimit-limit', this.#limit, 'x-ratelimit-remaining', this.#remaining);
    headers.push('x-ratelimit-reset', this.#reset);
    return undefined;
  }

  onDestroy(): void {}
}

/** The local rate limit filter type (registered by filters/setup.ts); `now` is the buckets' clock (tests). */
export function localRateLimitFilter(now?: () => number) {
  return {
    prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
      if (config.typeName !== LOCAL_RATELIMIT_TYPE)
        throw new Error(`the local rate limit filter got a ${config.typeName} config`);
      return new PreparedLocalRateLimit(config.config, env.stats, now);
    },
  };
}
