// envoy.filters.http.fault: delays and aborts a share of requests, by its config (per route too) or by the request's
// x-envoy-fault-* headers, with Envoy's stats (http.<prefix>.fault.*) and max_active_faults bound.

import type { Stats } from '../../common/stats.ts';
import { MAX_DELAY_MS } from '../../config/decode-fault.ts';
import { FAULT_TYPE, type FaultConfig, type Fraction, type HttpFilterTypedConfig } from '../../config/model.ts';
import type { FilterEnv, FilterStatus, FilterStream, HttpFilter, PreparedFilter } from '../../http/filter/filter.ts';
import { httpStatusForGrpc } from '../../http/message/grpc.ts';
import { type CompiledHeaderMatch, compileHeaderMatches, headersMatch } from '../../http/message/header-match.ts';
import { randomBelow } from '../../http/message/random.ts';
import type { LocalReply } from '../../http/message/reply.ts';

const ABORT_HTTP_HEADER = 'x-envoy-fault-abort-request';
const ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
const ABORT_PERCENT_HEADER = 'x-envoy-fault-abort-request-percentage';
const DELAY_HEADER = 'x-envoy-fault-delay-request';
const DELAY_PERCENT_HEADER = 'x-envoy-fault-delay-request-percentage';
const ABORT_BODY = 'fault filter abort';
/** Envoy's response flags: an injected delay, an injected abort. */
const DELAY_FLAG = 'DI';
const ABORT_FLAG = 'FI';

/** What every fault config of one connection manager shares: its stats and its count of faults in progress. */
interface FaultScope {
  readonly stats: Stats;
  readonly delays: string;
  readonly aborts: string;
  readonly overflow: string;
  active: number;
}

const scopes = new WeakMap<Stats, Map<string, FaultScope>>();

function scopeOf(env: FilterEnv): FaultScope {
  let byPrefix = scopes.get(env.stats);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    scopes.set(env.stats, byPrefix);
  }
  let scope = byPrefix.get(env.statPrefix);
  if (scope === undefined) {
    const base = `http.${env.statPrefix}.fault.`;
    const created: FaultScope = {
      stats: env.stats,
      delays: `${base}delays_injected`,
      aborts: `${base}aborts_injected`,
      overflow: `${base}faults_overflow`,
      active: 0,
    };
    env.stats.gauge(`${base}active_faults`, () => created.active);
    scope = created;
    byPrefix.set(env.statPrefix, scope);
  }
  return scope;
}

/** A non-negative integer header value, else undefined. */
function intHeader(stream: FilterStream, name: string): number | undefined {
  const value = stream.header(name);
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  return Number(value);
}

/** Draws against a share; a percentage header lowers (never raises) the configured numerator, as in Envoy. */
function drawn(share: Fraction, stream: FilterStream, percentHeader: string): boolean {
  const asked = intHeader(stream, percentHeader);
  const numerator = asked === undefined ? share.numerator : Math.min(asked, share.numerator);
  return numerator > 0 && randomBelow(share.denominator) < numerator;
}

class PreparedFault implements PreparedFilter {
  readonly #config: FaultConfig;
  readonly #headers: readonly CompiledHeaderMatch[];
  readonly #scope: FaultScope;

  constructor(config: FaultConfig, scope: FaultScope) {
    this.#config = config;
    this.#headers = compileHeaderMatches(config.headers);
    this.#scope = scope;
  }

  create(stream: FilterStream): HttpFilter | undefined {
    const config = this.#config;
    if (!headersMatch(this.#headers, stream)) return undefined;
    const delayMs = this.#delay(stream);
    const abort = this.#abort(stream);
    if (delayMs === undefined && abort === undefined) return undefined;
    const max = config.maxActiveFaults;
    if (max !== undefined && this.#scope.active >= max) {
      this.#scope.stats.inc(this.#scope.overflow);
      return undefined;
    }
    return new FaultFilter(this.#scope, delayMs, abort);
  }

  #delay(stream: FilterStream): number | undefined {
    const delay = this.#config.delay;
    if (delay === undefined) return undefined;
    const asked = delay.fixedDelayMs ?? intHeader(stream, DELAY_HEADER);
    if (asked === undefined || asked <= 0) return undefined;
    // A header may ask for more than a timer holds: the longest one (the client's own timeout ends it sooner).
    const ms = Math.min(asked, MAX_DELAY_MS);
    return drawn(delay.percentage, stream, DELAY_PERCENT_HEADER) ? ms : undefined;
  }

  #abort(stream: FilterStream): LocalReply | undefined {
    const abort = this.#config.abort;
    if (abort === undefined) return undefined;
    let status = abort.httpStatus;
    let grpcStatus = abort.grpcStatus;
    if (status === undefined && grpcStatus === undefined) {
      // header_abort: the request names the status.
      const http = intHeader(stream, ABORT_HTTP_HEADER);
      if (http !== undefined && http >= 200 && http <= 599) status = http;
      else {
        const grpc = intHeader(stream, ABORT_GRPC_HEADER);
        if (grpc !== undefined && grpc <= 16) grpcStatus = grpc;
      }
      if (status === undefined && grpcStatus === undefined) return undefined;
    }
    if (!drawn(abort.percentage, stream, ABORT_PERCENT_HEADER)) return undefined;
    const reply: LocalReply = {
      status: status ?? httpStatusForGrpc(grpcStatus as number),
      body: ABORT_BODY,
      flags: ABORT_FLAG,
    };
    if (grpcStatus !== undefined) reply.grpcStatus = grpcStatus;
    return reply;
  }
}

/** One faulted stream: counted active until it ends, delayed by a timer, then aborted or handed on. */
class FaultFilter implements HttpFilter {
  readonly #scope: FaultScope;
  readonly #delayMs: number | undefined;
  readonly #abort: LocalReply | undefined;
  #timer: NodeJS.Timeout | undefined;
  #counted = false;

  constructor(scope: FaultScope, delayMs: number | undefined, abort: LocalReply | undefined) {
    this.#scope = scope;
    this.#delayMs = delayMs;
    this.#abort = abort;
  }

  onRequestHeaders(stream: FilterStream): FilterStatus {
    this.#scope.active += 1;
    this.#counted = true;
    if (this.#delayMs === undefined) return this.#abortOrContinue(stream);
    this.#scope.stats.inc(this.#scope.delays);
    stream.addFlag(DELAY_FLAG);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#abortOrContinue(stream) === 'continue') stream.continueRequest();
    }, this.#delayMs);
    return 'stop';
  }

  onDestroy(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counted) {
      this.#counted = false;
      this.#scope.active -= 1;
    }
  }

  #abortOrContinue(stream: FilterStream): FilterStatus {
    if (this.#abort === undefined) return 'continue';
    this.#scope.stats.inc(this.#scope.aborts);
    stream.localReply(this.#abort);
    return 'stop';
  }
}

/** The fault filter type (registered by filters/setup.ts). */
export const faultFilter = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
    if (config.typeName !== FAULT_TYPE) throw new Error(`the fault filter got a ${config.typeName} config`);
    return new PreparedFault(config.config, scopeOf(env));
  },
};
