// Per-cluster circuit breaker counters (Envoy's default priority thresholds): reserve and release slots.
import type { CircuitBreakers } from '../config/model.ts';

/** Envoy's defaults when a cluster sets no thresholds. */
export const DEFAULT_CIRCUIT_BREAKERS: Readonly<CircuitBreakers> = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

function limit(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isInteger(value) && value >= 0 ? value : fallback;
}

/** Thresholds with every missing or invalid field replaced by Envoy's default. */
export function circuitBreakersOf(config: Partial<CircuitBreakers> | undefined): CircuitBreakers {
  const d = DEFAULT_CIRCUIT_BREAKERS;
  return {
    maxConnections: limit(config?.maxConnections, d.maxConnections),
    maxPendingRequests: limit(config?.maxPendingRequests, d.maxPendingRequests),
    maxRequests: limit(config?.maxRequests, d.maxRequests),
    maxRetries: limit(config?.maxRetries, d.maxRetries),
  };
}

export class CircuitBreaker {
  limits: CircuitBreakers;
  activeRequests = 0;
  activeConnections = 0;
  activeRetries = 0;

  constructor(limits: Partial<CircuitBreakers> | undefined) {
    this.limits = circuitBreakersOf(limits);
  }

  tryAcquireRequest(): boolean {
    if (this.activeRequests >= this.limits.maxRequests) return false;
    this.activeRequests++;
    return true;
  }

  releaseRequest(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }

  tryAcquireConnection(): boolean {
    if (this.activeConnections >= this.limits.maxConnections) return false;
    this.activeConnections++;
    return true;
  }

  releaseConnection(): void {
    if (this.activeConnections > 0) this.activeConnections--;
  }

  tryAcquireRetry(): boolean {
    if (this.activeRetries >= this.limits.maxRetries) return false;
    this.activeRetries++;
    return true;
  }

  releaseRetry(): void {
    if (this.activeRetries > 0) this.activeRetries--;
  }

  /** 1 while the request threshold is reached (Envoy's circuit_breakers.default.rq_open gauge). */
  requestsOpen(): number {
    return this.activeRequests >= this.limits.maxRequests ? 1 : 0;
  }
}
