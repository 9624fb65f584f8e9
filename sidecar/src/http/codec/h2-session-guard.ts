// Limits on one downstream HTTP/2 session: idle timeout, max requests per connection, premature-reset (rapid reset)
// close, and how many new streams start per event-loop turn.
import http2, { type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Stats } from '../../common/stats.ts';
import type { HttpLimits } from '../../config/model.ts';
import type { HttpStatNames } from './http-stats.ts';
import { connectionSweeper, type IdleTracked } from './idle-sweeper.ts';

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** Envoy's premature reset rule: a stream the client resets within this long of opening counts as premature. */
const PREMATURE_LIFETIME_MS = 1000;
/**
 * Envoy's `overload.premature_reset_total_stream_count`: once this many streams closed, a session whose streams were
 * mostly (at least half) reset prematurely is closed; before that, half of this many premature resets close it.
 */
export const PREMATURE_RESET_STREAM_COUNT = 500;

/** Streams we reset ourselves (timeouts, upstream failures): never counted as the client's premature resets. */
export const locallyReset = new WeakSet<ServerHttp2Stream>();

/**
 * New streams started per event-loop turn on one session (Envoy's http.max_requests_per_io_cycle): the rest wait for
 * the next turn, by when a stream the client reset in the same read (HEADERS then RST_STREAM, rapid reset) is gone
 * and costs nothing upstream.
 */
export const STREAMS_PER_TURN = 8;

/** A request waiting for its turn. */
export interface Admittable {
  run(): void;
  /** The client reset or left before its turn came. */
  gone(): boolean;
}

const kOpened = Symbol('opened');

interface TimedStream extends ServerHttp2Stream {
  [kOpened]?: number;
}

/**
 * Watches one session. Idle = no stream open for limits.idleTimeoutMs (then GOAWAY and close, as Envoy's
 * idle_timeout); after maxRequestsPerConnection streams, GOAWAY lets the open ones finish; a session whose client
 * resets streams right after opening them (CVE-2023-44487, rapid reset) is closed with ENHANCE_YOUR_CALM.
 */
export class H2SessionGuard implements IdleTracked {
  idleMs: number;
  lastActiveMs = 0;
  idleSlot = -1;
  private readonly session: ServerHttp2Session;
  private readonly limits: HttpLimits;
  private readonly stats: Stats;
  private readonly names: HttpStatNames;
  private active = 0;
  private total = 0;
  private closedStreams = 0;
  private premature = 0;
  private startedThisTurn = 0;
  private turnScheduled = false;
  private readonly waiting: Admittable[] = [];
  private readonly onStream = (stream: ServerHttp2Stream): void => this.opened(stream as TimedStream);
  private readonly onStreamClose: (this: TimedStream) => void;

  constructor(session: ServerHttp2Session, limits: HttpLimits, stats: Stats, names: HttpStatNames) {
    this.session = session;
    this.limits = limits;
    this.stats = stats;
    this.names = names;
    this.idleMs = limits.idleTimeoutMs;
    const guard = this;
    this.onStreamClose = function (this: TimedStream) {
      guard.streamClosed(this);
    };
    session.on('stream', this.onStream);
    session.once('close', () => connectionSweeper.untrack(this));
    if (this.idleMs > 0) connectionSweeper.track(this);
    const window = limits.initialConnectionWindowSize;
    if (window > 65_535) {
      const apply = (): void => {
        if (!session.destroyed) session.setLocalWindowSize(window);
      };
      if (session.connecting === false) apply();
      else session.once('connect', apply);
    }
  }

  /** Starts the request now, or in a later turn once this turn's share of new streams is spent. */
  admit(request: Admittable): void {
    // node:http2 emits a new stream a tick after its HEADERS: a RST_STREAM in the same read has already closed it.
    if (request.gone()) return;
    if (this.startedThisTurn < STREAMS_PER_TURN && this.waiting.length === 0) {
      this.startedThisTurn++;
      this.scheduleTurn();
      request.run();
      return;
    }
    this.waiting.push(request);
    this.scheduleTurn();
  }

  /** Next turn: the count starts again, and waiting requests whose streams are still there start. */
  nextTurn(): void {
    this.turnScheduled = false;
    this.startedThisTurn = 0;
    const waiting = this.waiting;
    let i = 0;
    while (i < waiting.length && this.startedThisTurn < STREAMS_PER_TURN) {
      const request = waiting[i++] as Admittable;
      if (request.gone()) continue;
      this.startedThisTurn++;
      request.run();
    }
    waiting.splice(0, i);
    if (waiting.length > 0) this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(nextTurn, this);
  }

  private opened(stream: TimedStream): void {
    this.active++;
    this.total++;
    stream[kOpened] = performance.now();
    // node:http2 emits a stream a tick after its HEADERS: one reset in the same read is already closed.
    if (stream.destroyed) this.streamClosed(stream);
    else stream.once('close', this.onStreamClose);
    const max = this.limits.maxRequestsPerConnection;
    if (max > 0 && this.total === max) {
      this.stats.inc(this.names.cxMaxRequestsReached);
      // GOAWAY: the client opens no more streams here; those open finish.
      if (!this.session.closed) this.session.close();
    }
  }

  private streamClosed(stream: TimedStream): void {
    this.active--;
    this.closedStreams++;
    this.lastActiveMs = connectionSweeper.now;
    const opened = stream[kOpened] ?? 0;
    if (
      stream.rstCode !== undefined &&
      stream.rstCode !== NGHTTP2_NO_ERROR &&
      !locallyReset.has(stream) &&
      performance.now() - opened < PREMATURE_LIFETIME_MS
    ) {
      this.premature++;
      if (this.premature * 2 >= Math.max(this.closedStreams, PREMATURE_RESET_STREAM_COUNT)) this.tooManyResets();
    }
  }

  private tooManyResets(): void {
    const session = this.session;
    if (session.destroyed) return;
    this.stats.inc(this.names.rqTooManyPrematureResets);
    // The GOAWAY says why (destroy()'s own code argument still ends in a NO_ERROR GOAWAY, which then follows).
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }

  /** No stream open for the idle timeout: GOAWAY and close (open streams keep the session; look again later). */
  idleTimedOut(): void {
    const session = this.session;
    if (session.destroyed) return;
    if (this.active > 0) {
      connectionSweeper.track(this);
      return;
    }
    this.stats.inc(this.names.cxIdleTimeout);
    session.close();
    // A client that never answers the GOAWAY by closing loses the connection one more idle period later.
    connectionSweeper.track(new SessionReaper(session, this.idleMs));
  }
}

function nextTurn(guard: H2SessionGuard): void {
  guard.nextTurn();
}

/** Destroys a session still open one idle period after its GOAWAY. */
class SessionReaper implements IdleTracked {
  idleMs: number;
  lastActiveMs = 0;
  idleSlot = -1;
  private readonly session: ServerHttp2Session;

  constructor(session: ServerHttp2Session, idleMs: number) {
    this.session = session;
    this.idleMs = idleMs;
    session.once('close', () => connectionSweeper.untrack(this));
  }

  idleTimedOut(): void {
    if (!this.session.destroyed) this.session.destroy();
  }
}
