// One request's retry bookkeeping: which outcomes retry, retries left, hosts to avoid, backoff, the max_retries breaker.
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import {
  type AttemptFailure,
  type CompiledRetryPolicy,
  retriableFailure,
  retriableResponse,
  retryBackoffMs,
} from './retry-policy.ts';

/**
 * Retries need a request that can be sent again: today only bodiless requests (`replayable`). Retry budgets and
 * buffered-body replay plug in here: a budget is one more check in `admit`, a replayable buffered body just sets
 * `replayable` (the exchange asks its body source for a fresh stream per attempt).
 */
export class RetryState {
  readonly avoid = new Set<Host>();
  private readonly policy: CompiledRetryPolicy;
  private readonly cluster: Cluster;
  private left: number;
  private count = 0;
  private slot = false;

  constructor(policy: CompiledRetryPolicy, cluster: Cluster, replayable: boolean) {
    this.policy = policy;
    this.cluster = cluster;
    this.left = replayable ? policy.numRetries : 0;
  }

  get perTryTimeoutMs(): number {
    return this.policy.perTryTimeoutMs;
  }

  /** Whether a response (grpc-status from a trailers-only answer) is retried; on true the retry is admitted. */
  retryResponse(status: number, grpcStatus: number | undefined): boolean {
    return this.left > 0 && retriableResponse(this.policy, status, grpcStatus) && this.admit();
  }

  /** Whether a failed attempt is retried; on true the retry is admitted. */
  retryFailure(failure: AttemptFailure): boolean {
    return this.left > 0 && retriableFailure(this.policy, failure) && this.admit();
  }

  /** Commits to the admitted retry after an attempt on `host`; returns the backoff delay in ms. */
  next(host: Host): number {
    this.left--;
    this.count++;
    this.avoid.add(host);
    return retryBackoffMs(this.count);
  }

  /** Gives back what retrying held (the breaker slot); call when the request ends. */
  release(): void {
    if (!this.slot) return;
    this.slot = false;
    this.cluster.releaseRetry?.();
  }

  /** The cluster's max_retries breaker: one slot per request while it is retrying. */
  private admit(): boolean {
    if (this.slot) return true;
    if (this.cluster.tryAcquireRetry?.() === false) return false;
    this.slot = true;
    return true;
  }
}
