// Request mirroring (Envoy's request_mirror_policies): a copy of a share of the requests to a shadow cluster, fire and
// forget. The copy's response is read and dropped and its failures only counted: it never delays or changes the
// primary response. A request whose body is streamed (not held whole) is not copied; the shadow cluster's request
// breaker bounds the copies in flight, and each copy is cancelled after the route timeout (or 15 s).
import type { MirrorPolicy } from '../../config/model.ts';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import { clusterStatNames } from '../codec/http-stats.ts';
import type { HttpContext } from '../context/http-context.ts';
import type { HeaderList } from '../message/header-list.ts';
import { randomBelow } from '../message/random.ts';
import { replayBody, requestBufferBudget } from '../message/replayable-body.ts';
import { createAttempt, type UpstreamRequest } from '../pool/create-attempt.ts';
import type { AttemptError, AttemptSink, UpstreamAttempt } from '../pool/upstream-attempt.ts';

const DEFAULT_SHADOW_TIMEOUT_MS = 15_000;

/** `host[:port]` with `-shadow` after the host, as Envoy writes a shadow request's authority. */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(':');
  const hasPort = colon > authority.lastIndexOf(']');
  return hasPort ? `${authority.slice(0, colon)}-shadow${authority.slice(colon)}` : `${authority}-shadow`;
}

/**
 * Sends the copies `mirrors` draw for a request as it goes upstream (`body`: the chunks held whole, or undefined for
 * a bodiless request; a streamed body is never copied: pass streamed = true).
 */
export function mirrorRequest(
  ctx: HttpContext,
  mirrors: readonly MirrorPolicy[],
  req: Readonly<UpstreamRequest>,
  body: readonly Buffer[] | undefined,
  streamed: boolean,
  timeoutMs: number,
): void {
  if (streamed) return;
  for (const m of mirrors) {
    const { numerator, denominator } = m.fraction;
    if (numerator < denominator && (numerator <= 0 || randomBelow(denominator) >= numerator)) continue;
    const cluster = ctx.deps.clusters.get(m.cluster);
    if (cluster === undefined) continue;
    // The copy holds the body after the request is done: its bytes count against the process-wide buffer budget.
    const bytes = body === undefined ? 0 : body.reduce((n, c) => n + c.length, 0);
    if (bytes > 0 && !requestBufferBudget.take(bytes)) continue;
    if (!cluster.tryAcquireRequest()) {
      requestBufferBudget.give(bytes);
      continue;
    }
    const host = cluster.pick({});
    if (host === undefined) {
      cluster.releaseRequest();
      requestBufferBudget.give(bytes);
      continue;
    }
    const copy: UpstreamRequest = {
      method: req.method,
      path: req.path,
      authority: m.shadowSuffix ? shadowAuthority(req.authority) : req.authority,
      headers: [...req.headers],
      body: body === undefined ? null : replayBody(body),
    };
    new ShadowCall(ctx, cluster, host, timeoutMs > 0 ? timeoutMs : DEFAULT_SHADOW_TIMEOUT_MS, bytes).start(copy);
  }
}

/** One copy in flight: reads its response to the end (so the connection is reused) and forgets it. */
class ShadowCall implements AttemptSink {
  readonly #ctx: HttpContext;
  readonly #cluster: Cluster;
  readonly #host: Host;
  readonly #timeoutMs: number;
  /** Bytes of the buffer budget the copy's body holds. */
  readonly #bytes: number;
  #attempt: UpstreamAttempt | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(ctx: HttpContext, cluster: Cluster, host: Host, timeoutMs: number, bytes: number) {
    this.#bytes = bytes;
    this.#ctx = ctx;
    this.#cluster = cluster;
    this.#host = host;
    this.#timeoutMs = timeoutMs;
  }

  /** Sends the copy (the attempt keeps the host's counters, as the router's attempts do). */
  start(req: UpstreamRequest): void {
    this.#cluster.stats.upstreamRequests++;
    this.#ctx.stats.inc(clusterStatNames(this.#cluster.name).rqTotal);
    this.#timer = setTimeout(() => {
      this.#attempt?.cancel();
      this.#finish();
    }, this.#timeoutMs);
    this.#attempt = createAttempt(this, this.#ctx.pools, this.#cluster, this.#host, req);
    this.#attempt.start();
  }

  onUpstreamHeaders(_attempt: UpstreamAttempt, status: number, _headers: HeaderList, endStream: boolean): boolean {
    clusterStatNames(this.#cluster.name).response(this.#ctx.stats, status);
    if (endStream) this.#finish();
    return true;
  }

  onUpstreamData(): boolean {
    return true;
  }

  onUpstreamEnd(): void {
    this.#finish();
  }

  onUpstreamError(_attempt: UpstreamAttempt, _error: AttemptError): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#cluster.releaseRequest();
    requestBufferBudget.give(this.#bytes);
  }
}
