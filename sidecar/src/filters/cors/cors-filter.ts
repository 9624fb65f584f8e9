// envoy.filters.http.cors: answers CORS preflights from allowed origins itself, and adds Access-Control-Allow-* to
// responses for allowed origins, by the route's (or virtual host's) policy; stats http.<prefix>.cors.origin_{valid,invalid}.

import type { Stats } from '../../common/stats.ts';
import {
  CORS_POLICY_TYPE,
  CORS_TYPE,
  type CorsPolicyConfig,
  type Fraction,
  type HttpFilterTypedConfig,
} from '../../config/model.ts';
import { Answer } from '../../http/filter/answer.ts';
import type {
  FilterEnv,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseHead,
} from '../../http/filter/filter.ts';
import { headerSet } from '../../http/message/header-list.ts';
import { randomBelow } from '../../http/message/random.ts';
import type { LocalReply } from '../../http/message/reply.ts';
import { compileStringMatcher, type StringPredicate } from '../../http/message/string-matcher.ts';

/** A connection manager's own config: no policy, so nothing to do until a route brings one. */
const NO_POLICY: PreparedFilter = { create: () => undefined };

function drawn(share: Fraction | undefined, fallback: boolean): boolean {
  if (share === undefined) return fallback;
  if (share.numerator >= share.denominator) return true;
  return share.numerator > 0 && randomBelow(share.denominator) < share.numerator;
}

class PreparedCors implements PreparedFilter {
  readonly #policy: CorsPolicyConfig;
  readonly #origins: readonly StringPredicate[];
  readonly #stats: Stats;
  readonly #valid: string;
  readonly #invalid: string;

  constructor(policy: CorsPolicyConfig, env: FilterEnv) {
    this.#policy = policy;
    this.#origins = (policy.allowOrigins ?? []).map(compileStringMatcher);
    this.#stats = env.stats;
    this.#valid = `http.${env.statPrefix}.cors.origin_valid`;
    this.#invalid = `http.${env.statPrefix}.cors.origin_invalid`;
  }

  /** A matcher that matches `*` allows every origin (Envoy's rule). */
  #allowed(origin: string): boolean {
    for (const match of this.#origins) if (match('*') || match(origin)) return true;
    return false;
  }

  create(stream: FilterStream): HttpFilter | undefined {
    // Redirects and direct responses answer as configured (Envoy's CORS filter skips routes without a route action).
    if (!stream.forwarding) return undefined;
    const policy = this.#policy;
    // filter_enabled (default 100 %) wins over shadow_enabled, as in Envoy.
    const enabled = drawn(policy.enabled, true);
    if (!enabled && !drawn(policy.shadow, false)) return undefined;
    const origin = stream.header('origin');
    if (origin === undefined || origin === '') return undefined;
    const allowed = this.#allowed(origin);
    this.#stats.inc(allowed ? this.#valid : this.#invalid);
    if (!enabled) return undefined;
    const requestMethod = stream.header('access-control-request-method');
    if (stream.method === 'OPTIONS' && requestMethod !== undefined && requestMethod !== '') {
      if (!allowed && policy.forwardNotMatchingPreflights !== false) return undefined;
      return new Answer(this.#preflightReply(stream, allowed ? origin : undefined, requestMethod));
    }
    return allowed ? new Actual(policy, origin) : undefined;
  }

  #preflightReply(stream: FilterStream, origin: string | undefined, requestMethod: string): LocalReply {
    const policy = this.#policy;
    const headers: string[] = [];
    if (origin !== undefined) headers.push('access-control-allow-origin', origin);
    if (policy.allowCredentials === true) headers.push('access-control-allow-credentials', 'true');
    const methods = policy.allowMethods;
    if (methods !== undefined) headers.push('access-control-allow-methods', methods === '*' ? requestMethod : methods);
    const allowHeaders = policy.allowHeaders;
    if (allowHeaders !== undefined) {
      const value = allowHeaders === '*' ? (stream.header('access-control-request-headers') ?? '') : allowHeaders;
      if (value !== '') headers.push('access-control-allow-headers', value);
    }
    if (policy.maxAge !== undefined) headers.push('access-control-max-age', policy.maxAge);
    if (policy.allowPrivateNetworkAccess === true && stream.header('access-control-request-private-network') === 'true')
      headers.push('access-control-allow-private-network', 'true');
    return { status: 200, body: '', flags: '', headers };
  }
}

/** A request from an allowed origin: its response (the app's, or a local reply) says so. */
class Actual implements HttpFilter {
  readonly #policy: CorsPolicyConfig;
  readonly #origin: string;

  constructor(policy: CorsPolicyConfig, origin: string) {
    this.#policy = policy;
    this.#origin = origin;
  }

  onRequestHeaders(): 'continue' {
    return 'continue';
  }

  onResponseHeaders({ headers }: ResponseHead): undefined {
    headerSet(headers, 'access-control-allow-origin', this.#origin);
    if (this.#policy.allowCredentials === true) headerSet(headers, 'access-control-allow-credentials', 'true');
    const expose = this.#policy.exposeHeaders;
    if (expose !== undefined) headerSet(headers, 'access-control-expose-headers', expose);
    return undefined;
  }

  onDestroy(): void {}
}

/** The CORS filter type (registered by filters/setup.ts); routes' legacy `cors` arrives under CORS_POLICY_TYPE. */
export const corsFilter: HttpFilterFactory = {
  routeFallbackKey: CORS_POLICY_TYPE,
  prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
    if (config.typeName === CORS_TYPE) return NO_POLICY;
    if (config.typeName !== CORS_POLICY_TYPE) throw new Error(`the CORS filter got a ${config.typeName} config`);
    return new PreparedCors(config.config, env);
  },
};
