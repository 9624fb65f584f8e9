// Stream idle timeouts for every exchange with one shared timer: marking activity is a field write, not a timer refresh.

/** What the sweeper watches: an idle limit, the last activity time, and what to do on expiry. */
export interface IdleTracked {
  /** Idle limit in ms (> 0 while tracked). */
  idleMs: number;
  /** Coarse time (IdleSweeper.now) of the last byte either way. */
  lastActiveMs: number;
  /** Position in the sweeper's list while tracked, -1 otherwise (owned by the sweeper; start at -1). */
  idleSlot: number;
  idleTimedOut(): void;
}

const MIN_PERIOD_MS = 5;

/**
 * One interval (unref'd) checks every tracked entry; it runs only while something is tracked and ticks at a fraction
 * (1/divisor) of the shortest idle limit seen, at most every maxPeriodMs (defaults: a quarter, once a second). Activity is stamped with the coarse clock `now`, which the
 * sweep advances (a clock read per chunk measured ~10% of proxy throughput here), so a stamp may be up to one period
 * early: an exchange expires after idleMs + period without activity, i.e. between idleMs and idleMs + 2 periods.
 *
 * The tracked entries live in a dense array where each knows its slot (removal moves the last entry into the hole):
 * a Set with one add and one delete per request kept finished exchanges reachable until V8 rehashed it, so every
 * scavenge promoted megabytes of them under load (measured: 8-12 ms scavenges and a mark-compact a second).
 */
export class IdleSweeper {
  private readonly tracked: IdleTracked[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The longest sweep period (expiry comes at most two periods after the limit). */
  private readonly maxPeriodMs: number;
  /** The period is this fraction of the shortest idle limit tracked (bounded by maxPeriodMs). */
  private readonly divisor: number;
  private periodMs: number;
  /** Entries ever added (a sweep that saw none added may lengthen the period). */
  private added = 0;
  /** Coarse clock (performance.now() at the last sweep, or when the interval started). */
  now = performance.now();

  constructor(maxPeriodMs = 1000, divisor = 4) {
    this.maxPeriodMs = maxPeriodMs;
    this.divisor = divisor;
    this.periodMs = maxPeriodMs;
  }

  track(x: IdleTracked): void {
    if (this.timer === undefined) this.now = performance.now();
    x.lastActiveMs = this.now;
    if (x.idleSlot >= 0) return;
    this.added++;
    x.idleSlot = this.tracked.length;
    this.tracked.push(x);
    const period = this.periodFor(x.idleMs);
    if (this.timer === undefined) this.start(period);
    else if (period < this.periodMs) this.shrink(period);
  }

  untrack(x: IdleTracked): void {
    const slot = x.idleSlot;
    if (slot < 0) return;
    x.idleSlot = -1;
    const tracked = this.tracked;
    const last = tracked.pop() as IdleTracked;
    if (last !== x) {
      tracked[slot] = last;
      last.idleSlot = slot;
    }
  }

  /** The current sweep period: an entry expires between its limit and its limit + 2 periods (for tests). */
  get period(): number {
    return this.periodMs;
  }

  /** Exchanges currently watched (for tests). */
  size(): number {
    return this.tracked.length;
  }

  private periodFor(idleMs: number): number {
    return Math.min(this.maxPeriodMs, Math.max(MIN_PERIOD_MS, Math.floor(idleMs / this.divisor)));
  }

  /**
   * A shorter period for a shorter limit. Stamps taken on the coarse clock so far may be up to the old period stale,
   * more than the new grace covers: they move forward by the difference, so an expiry may come that much later but
   * never before its limit.
   */
  private shrink(period: number): void {
    const shift = this.periodMs - period;
    const tracked = this.tracked;
    for (let i = 0; i < tracked.length; i++) (tracked[i] as IdleTracked).lastActiveMs += shift;
    this.start(period);
  }

  private start(period: number): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.periodMs = period;
    this.now = performance.now();
    this.timer = setInterval(sweep, period, this);
    this.timer.unref();
  }

  /** Expires idle exchanges; stops the interval once nothing is tracked. */
  sweep(): void {
    const tracked = this.tracked;
    if (tracked.length === 0) {
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      this.periodMs = this.maxPeriodMs;
      return;
    }
    const now = performance.now();
    this.now = now;
    const grace = this.periodMs;
    const added = this.added;
    let shortest = Number.POSITIVE_INFINITY;
    // Backwards: an expiry (or whatever its handler untracks) only moves entries from the end into visited slots.
    for (let i = tracked.length - 1; i >= 0; i--) {
      const x = tracked[i];
      if (x === undefined) continue;
      if (now - x.lastActiveMs >= x.idleMs + grace) {
        this.untrack(x);
        x.idleTimedOut();
      } else if (x.idleMs < shortest) shortest = x.idleMs;
    }
    // The entry with the shortest limit is gone: a longer period again (stamps are at most the old, shorter period
    // stale, within the new grace). Not when something was tracked meanwhile (it chose the period itself).
    if (tracked.length > 0 && this.added === added) {
      const period = this.periodFor(shortest);
      if (period > this.periodMs) this.start(period);
    }
  }
}

function sweep(s: IdleSweeper): void {
  s.sweep();
}

/** The process-wide sweeper every exchange uses. */
export const idleSweeper = new IdleSweeper();

/**
 * The process-wide sweeper of HTTP/1.1 connections (downstream keep-alive and head timeouts, upstream pooled
 * connections): a node socket timeout re-arms a timer on every read and write, four times per proxied request.
 * Finer than the exchanges' sweeper (at most 250 ms, an eighth of the limit): a pooled upstream connection idle for
 * 4 s must close before a node server's 5 s keep-alive timeout closes it under a new request.
 */
export const connectionSweeper = new IdleSweeper(250, 8);
