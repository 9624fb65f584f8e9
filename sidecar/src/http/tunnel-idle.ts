// Stream idle timeout of spliced tunnels (WebSocket upgrades, CONNECT): no bytes either way for the route's
// idle_timeout (else the connection manager's stream_idle_timeout) closes both sides, as Envoy does for upgrades.
import type { Duplex } from 'node:stream';
import type { HttpContext } from './http-context.ts';
import { type IdleTracked, idleSweeper } from './idle-sweeper.ts';

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
    const gone = (): void => idleSweeper.untrack(this);
    // The pipes already keep both sides flowing: one more 'data' listener only stamps the activity.
    down.on('data', active);
    up.on('data', active);
    down.once('close', gone);
    up.once('close', gone);
    idleSweeper.track(this);
  }

  /** Counted as `http.<prefix>.downstream_rq_idle_timeout`; both sides are closed (HTTP/2: the stream is reset). */
  idleTimedOut(): void {
    this.ctx.stats.inc(this.ctx.names.rqIdleTimeout);
    this.down.destroy();
    this.up.destroy();
  }
}
