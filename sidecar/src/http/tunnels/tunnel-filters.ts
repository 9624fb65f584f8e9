// The HTTP filters' request phase for tunnels (WebSocket upgrades, CONNECT): a rate limit, an authentication filter
// or a fault holds a tunnel's opening request as it holds any other; the tunnel is opened only when every filter
// handed the request on (routed afresh after a hold), and their stream state ends when the tunnel does.
import type { Socket } from 'node:net';
import { downstreamConnectionOf } from '../../common/downstream-connection.ts';
import type { RateLimitSpec } from '../../config/model.ts';
import type { HttpContext } from '../context/http-context.ts';
import { FilterRun } from '../filter/chain.ts';
import { trustedClientAddress } from '../message/forwarded-headers.ts';
import type { LocalReply } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import type { RoutedRequest } from '../router/route-request.ts';

const NO_RATE_LIMITS: readonly RateLimitSpec[] = [];

/** What the tunnel does once the filters decided. */
export interface TunnelFilterSink {
  /** Every filter handed the request on: open the tunnel (after a hold, the caller routes afresh). */
  proceed(afterHold: boolean): void;
  /** A filter answered the opening request. */
  refuse(reply: LocalReply): void;
}

/**
 * Runs the connection manager's filters over a tunnel's opening request, already routed to `routed`. Returns the
 * run (to destroy when the tunnel ends), or undefined when there are no filters and the caller goes on at once.
 * When a filter holds or answers, the route's request slot is given back (a later proceed routes afresh).
 */
export function filterTunnel(
  ctx: HttpContext,
  view: RequestView,
  peer: string,
  socket: Socket,
  routed: RoutedRequest,
  sink: TunnelFilterSink,
): FilterRun | undefined {
  const filters = ctx.filters;
  if (filters === undefined) return undefined;
  const { route, vhost } = routed.scope;
  let started = false;
  const run = new FilterRun(
    filters,
    view,
    false,
    {
      forwarding: true,
      perFilterConfig: route?.perFilterConfig,
      vhostPerFilterConfig: vhost?.perFilterConfig,
      rateLimits: route?.action?.rateLimits ?? vhost?.rateLimits ?? NO_RATE_LIMITS,
      clientAddress: trustedClientAddress(view.headers, peer, ctx.hcm),
      connection: downstreamConnectionOf(socket),
      // A tunnel has no body to read before it opens.
      body: () => undefined,
      replaceBody: () => false,
      bodyStreams: false,
      bufferLimitBytes: ctx.bufferLimitBytes,
    },
    {
      filtersDone: () => {
        if (started) sink.proceed(true);
      },
      filterReplied: (reply) => sink.refuse(reply),
      addFlag: () => undefined,
    },
  );
  const atOnce = run.start();
  started = true;
  if (atOnce) sink.proceed(false);
  else routed.cluster.releaseRequest();
  return run;
}
