// envoy.filters.http.local_ratelimit: one token bucket per config (the connection manager's, or a route's override),
// shared by its requests; a spent bucket answers 429 (or the configured status) with retry-after and x-ratelimit-*
// headers, with Envoy's stats (<stat_prefix>.http_local_rate_limit.*).
import {
  type Fraction,
  type HttpFilterTypedConfig,
  LOCAL_RATELIMIT_TYPE,
  type LocalRateLimitConfig,
} from '../../config/model.ts';
import type { FilterEnv, FilterStream, HttpFilter, PreparedFilter, ResponseHead } from '../../http/filter/filter.ts';
import { GrpcStatus } from '../../http/grpc.ts';
import { randomBelow } from '../../http/random.ts';
import type { LocalReply } from '../../http/reply.ts';
import type { Stats } from '../../stats.ts';
import { TokenBucket } from './token-bucket.ts';

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
  readonly #stats: Stats;
  readonly #names: { enabled: string; enforced: string; limited: string; ok: string };

  constructor(config: LocalRateLimitConfig, stats: Stats, now?: () => number) {
    this.#config = config;
    this.#bucket = config.tokenBucket === undefined ? undefined : new TokenBucket(config.tokenBucket, now);
    this.#stats = stats;
    const base = `${config.statPrefix}.http_local_rate_limit.`;
    this.#names = {
      enabled: `${base}enabled`,
      enforced: `${base}enforced`,
      limited: `${base}rate_limited`,
      ok: `${base}ok`,
    };
  }

  create(stream: FilterStream): HttpFilter | undefined {
    const bucket = this.#bucket;
    if (bucket === undefined || !drawn(this.#config.enabled)) return undefined;
    const stats = this.#stats;
    stats.inc(this.#names.enabled);
    if (bucket.consume()) {
      stats.inc(this.#names.ok);
      return this.#config.rateLimitHeaders ? new Quota(bucket) : undefined;
    }
    stats.inc(this.#names.limited);
    if (!drawn(this.#config.enforced)) return undefined;
    stats.inc(this.#names.enforced);
    const config = this.#config;
    const reply: LocalReply = {
      status: config.status,
      body: BODY,
      flags: RATE_LIMITED_FLAG,
      headers: [
        'retry-after',
        String(Math.ceil(bucket.msToFill / 1000)),
        'x-ratelimit-limit',
        String(bucket.spec.maxTokens),
        'x-ratelimit-remaining',
        '0',
        'x-ratelimit-reset',
        String(Math.ceil(bucket.msToFill / 1000)),
      ],
    };
    if (stream.grpc)
      reply.grpcStatus = config.resourceExhausted ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.UNAVAILABLE;
    return new Refusal(reply);
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

/** A refused request: answered in its request-headers phase. */
class Refusal implements HttpFilter {
  readonly #reply: LocalReply;

  constructor(reply: LocalReply) {
    this.#reply = reply;
  }

  onRequestHeaders(stream: FilterStream): 'stop' {
    stream.localReply(this.#reply);
    return 'stop';
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
