// Stream idle timeout of spliced tunnels (WebSocket upgrades, CONNECT): no bytes either way for the route's
// idle_timeout (else the connection manager's stream_idle_timeout) closes both sides, as Envoy does for upgrades.
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { type IdleTracked, idleSweeper } from '../codec/idle-sweeper.ts';
import type { HttpContext } from '../context/http-context.ts';

const { NGHTTP2_CANCEL } = http2.constants;

/** Watches a spliced tunnel (call once both sides are piped); 0 = no limit. */
export function watchTunnelIdle(ctx: HttpContext, idleMs: number, down: Duplex, up: Duplex): void {
  if (idleMs > 0 && !down.destroyed && !up.destroyed) new TunnelIdle(ctx, idleMs, down, up);
}

class TunnelIdle implements IdleTracked {
  readonly idleMs: number;
  lastActiveMs = 0;
  idleSlot = -1;
  private readonly ctx: HttpContext;
  private readonly down: Duplex;
  private readonly up: Duplex;

  constructor(ctx: HttpContext, idleMs: number, down: Duplex, up: Duplex) {
    this.ctx = ctx;
    this.idleMs = idleMs;
    this.down = down;
    this.up = up;
    const active = (): void => {
      this.lastActiveMs = idleSweeper.now;
    };
    // The pipes already keep both sides flowing: one more 'data' listener only stamps the activity.
    down.on('data', active);
    up.on('data', active);
    // Watched until the downstream is gone (its close takes the upstream along): after the upstream closed, a
    // downstream still flushing to a client that stopped reading is what the limit is for.
    down.once('close', () => idleSweeper.untrack(this));
    idleSweeper.track(this);
  }

  /** Counted as `http.<prefix>.downstream_rq_idle_timeout`; both sides are closed (HTTP/2: RST_STREAM CANCEL). */
  idleTimedOut(): void {
    this.ctx.stats.inc(this.ctx.names.rqIdleTimeout);
    const down = this.down;
    if ((down as ServerHttp2Stream).respond !== undefined) (down as ServerHttp2Stream).close(NGHTTP2_CANCEL);
    else down.destroy();
    this.up.destroy();
  }
}
