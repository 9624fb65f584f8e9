// The contract between one upstream try (HTTP/1.1 or HTTP/2) and the request exchange that owns it.
import type { Host } from '../../upstream/host/host.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { AttemptFailure } from '../routing/retry-policy.ts';

/** Why an attempt failed: a retriable failure, an upstream protocol violation (→ 502 UPE), or breaker overflow (→ 503 UO). */
export type AttemptError = AttemptFailure | 'protocol' | 'overflow';

/** Which circuit breaker refused a request (the `x-trellis-overload-cause` of its 503). */
export type OverloadCause = 'max_requests' | 'max_pending_requests' | 'max_connections' | 'max_retries';

/** What an attempt reports; callbacks stop once the attempt is cancelled or discarded. */
export interface AttemptSink {
  /**
   * Response head (lower-case names, not yet sanitized); endStream when nothing follows (an HTTP/2 headers-only answer such as a gRPC trailers-only error).
   * Returning false means "discard this response" (the attempt drops it and ends quietly).
   */
  onUpstreamHeaders(attempt: UpstreamAttempt, status: number, headers: HeaderList, endStream: boolean): boolean;
  /** A body chunk; false asks the attempt to pause until resume(). */
  onUpstreamData(attempt: UpstreamAttempt, chunk: Buffer): boolean;
  /** The response is complete; `last` is a final body chunk not passed to onUpstreamData (write it, then end). */
  onUpstreamEnd(attempt: UpstreamAttempt, trailers: HeaderList | undefined, last?: Buffer): void;
  onUpstreamError(attempt: UpstreamAttempt, error: AttemptError): void;
}

export interface UpstreamAttempt {
  readonly host: Host;
  /** After an 'overflow' error: the breaker that refused it (absent = max_pending_requests). */
  readonly overflowCause?: OverloadCause | undefined;
  /** Sends the request; sink callbacks may come synchronously, so the owner records the attempt before this. */
  start(): void;
  /** Stops the attempt (resets the upstream request); no sink callbacks follow. */
  cancel(): void;
  /** Resumes reading the upstream body after onUpstreamData returned false. */
  resume(): void;
}

/** Marks a host busy for one attempt (balancers and /clusters read these). */
export function hostAttemptStarted(host: Host): void {
  host.stats.activeRequests++;
  host.stats.totalRequests++;
}

export function hostAttemptFinished(host: Host, failed: boolean): void {
  host.stats.activeRequests--;
  if (failed) host.stats.failures++;
}
