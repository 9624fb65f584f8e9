// One request's retry bookkeeping: which outcomes retry, retries left, hosts to avoid, backoff, max_retries or budget.
import type { Stats } from '../../common/stats.ts';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import {
  type AttemptFailure,
  type CompiledRetryPolicy,
  type RetryClass,
  retriableFailureFor,
  retriableResponseFor,
  retryBackoffMs,
} from '../routing/retry-policy.ts';

/** A routed request on `cluster` began (counted for retry budgets, on the cluster); pair with clusterRequestEnded. */
export function clusterRequestStarted(cluster: Cluster): void {
  cluster.stats.routedRequests++;
}

export function clusterRequestEnded(cluster: Cluster): void {
  if (cluster.stats.routedRequests > 0) cluster.stats.routedRequests--;
}

/**
 * Retries need a request that can be sent again (`replayable`: bodiless, or a body buffered within the bound), and
 * its RetryClass limits which outcomes retry (unsafe methods only when the upstream app never saw the request).
 * Concurrency of retries is limited as Envoy does: by the cluster's retry budget when it has one (active retries <
 * max(minRetryConcurrency, budgetPercent% of active requests); max_retries is then ignored), else by the max_retries
 * breaker. A retry holds its slot from being admitted until the next retry decision of the request or its end
 * (Envoy's RetryStateImpl). A refused retry counts `cluster.<name>.upstream_rq_retry_overflow` and sets `overflowed`.
 */
export class RetryState {
  readonly avoid = new Set<Host>();
  /** The last retry was refused by max_retries or the budget (the final reply then says so). */
  overflowed = false;
  private readonly policy: CompiledRetryPolicy;
  private readonly cluster: Cluster;
  private readonly stats: Stats;
  private readonly cls: RetryClass;
  private left: number;
  private count = 0;
  /** 0 none, 1 a max_retries breaker slot, 2 a retry-budget slot. */
  private slot = 0;

  constructor(policy: CompiledRetryPolicy, cluster: Cluster, replayable: boolean, stats: Stats, cls: RetryClass) {
    this.policy = policy;
    this.cls = cls;
    this.cluster = cluster;
    this.stats = stats;
    this.left = replayable ? policy.numRetries : 0;
  }

  get perTryTimeoutMs(): number {
    return this.policy.perTryTimeoutMs;
  }

  /** Whether a response (grpc-status from a trailers-only answer) is retried; on true the retry is admitted. */
  retryResponse(status: number, grpcStatus: number | undefined): boolean {
    return this.left > 0 && retriableResponseFor(this.policy, this.cls, status, grpcStatus) && this.admit();
  }

  /** Whether a failed attempt is retried; on true the retry is admitted. */
  retryFailure(failure: AttemptFailure): boolean {
    return this.left > 0 && retriableFailureFor(this.policy, this.cls, failure) && this.admit();
  }

  /** Commits to the admitted retry after an attempt on `host`; returns the backoff delay in ms. */
  next(host: Host): number {
    this.left--;
    this.count++;
    this.avoid.add(host);
    return retryBackoffMs(this.count, this.policy.backOffBaseMs, this.policy.backOffMaxMs);
  }

  /** Gives back what retrying held (the breaker or budget slot); call when the request ends. */
  release(): void {
    if (this.slot === 1) this.cluster.releaseRetry?.();
    else if (this.slot === 2) {
      const stats = this.cluster.stats;
      if (stats.budgetRetries > 0) stats.budgetRetries--;
    }
    this.slot = 0;
  }

  /** Releases the previous retry's slot, then takes one for this retry (budget or max_retries breaker). */
  private admit(): boolean {
    this.release();
    const budget = this.cluster.config.circuitBreakers.retryBudget;
    if (budget !== undefined) {
      const stats = this.cluster.stats;
      const limit = Math.max(budget.minRetryConcurrency, (budget.budgetPercent / 100) * stats.routedRequests);
      if (stats.budgetRetries >= limit) {
        this.overflowed = true;
        this.stats.inc(`cluster.${this.cluster.name}.upstream_rq_retry_overflow`);
        return false;
      }
      stats.budgetRetries++;
      this.slot = 2;
      return true;
    }
    if (this.cluster.tryAcquireRetry?.() === false) {
      this.overflowed = true;
      return false;
    }
    this.slot = 1;
    return true;
  }
}
