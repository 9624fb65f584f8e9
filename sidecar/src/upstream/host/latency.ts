// Per-host response times for latency-aware balancing: a peak-sensitive EWMA (Finagle's and Linkerd's "peak EWMA").
import type { Host } from './host.ts';

/** Time constant of the decay: an observation's weight falls to 1/e after this long. */
export const PEAK_EWMA_DECAY_MS = 10_000;

/**
 * Records one response time of `host`, `ms` after the request was sent, observed at `nowMs` (performance.now(),
 * the clock least-response-time.ts reads). The HTTP path calls this once per completed upstream attempt.
 *
 * An observation above the current (decayed) estimate replaces it: a host that turns slow is avoided at once. One
 * below it is blended in with weight 1 − e^(−elapsed/τ), elapsed being the time since the previous update, so a
 * recovering host earns its way back over seconds rather than on one fast reply.
 */
export function recordLatency(host: Host, ms: number, nowMs: number, decayMs: number = PEAK_EWMA_DECAY_MS): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) return;
  const state = host.latency;
  if (state === undefined) {
    host.latency = { ewmaMs: ms, stampMs: nowMs };
    return;
  }
  const decay = Math.exp(-Math.max(0, nowMs - state.stampMs) / decayMs);
  const current = state.ewmaMs * decay;
  state.ewmaMs = ms >= current ? ms : current + ms * (1 - decay);
  state.stampMs = Math.max(state.stampMs, nowMs);
}

/**
 * The estimate at `nowMs`, undefined before the first observation. Without new observations it decays toward 0
 * (time constant τ), so a host avoided for being slow is tried again after a while and its estimate refreshed.
 */
export function latencyEstimate(host: Host, nowMs: number, decayMs: number = PEAK_EWMA_DECAY_MS): number | undefined {
  const state = host.latency;
  if (state === undefined) return undefined;
  const elapsed = nowMs - state.stampMs;
  return elapsed <= 0 ? state.ewmaMs : state.ewmaMs * Math.exp(-elapsed / decayMs);
}
