// The control plane's own telemetry in one place: metrics, tracing, convergence; what the xDS server and API report to.
import type { ApiObserver } from '../api/api-observer.ts';
import type { XdsObserver } from '../xds/xds-observer.ts';
import { ApiTelemetry } from './api-telemetry.ts';
import { ConvergenceTracker } from './convergence.ts';
import { ControlPlaneMetrics } from './metrics.ts';
import { noTracing, type Tracing } from './tracing-target.ts';
import { XdsTelemetry } from './xds-telemetry.ts';

export class ControlPlaneTelemetry {
  readonly metrics = new ControlPlaneMetrics();
  readonly tracing: Tracing;
  readonly tracker: ConvergenceTracker;
  readonly #api: ApiTelemetry;
  readonly #xds: XdsTelemetry;

  constructor(tracing: Tracing = noTracing(), now: () => number = () => performance.now()) {
    this.tracing = tracing;
    this.tracker = new ConvergenceTracker({
      now,
      onConverged: (s) => this.metrics.convergence.observe(s),
      onEndpointsConverged: (s) => this.metrics.endpointConvergence.observe(s),
    });
    this.#api = new ApiTelemetry(this.metrics, tracing.tracer);
    this.#xds = new XdsTelemetry({ metrics: this.metrics, tracer: tracing.tracer, tracker: this.tracker, now });
  }

  get api(): ApiObserver {
    return this.#api;
  }

  get xds(): XdsObserver {
    return this.#xds;
  }

  /** The store committed a change (inside an API call when it came from one: its span is linked). */
  storeChanged(): void {
    this.tracker.changed(true, this.#api.currentCall());
  }

  /** Endpoints changed (a proxy came or went). */
  registryChanged(): void {
    this.tracker.changed(false);
  }

  /** Runs one publish of pending changes: pushes written inside are attributed to them. */
  publishRound(publish: () => void): void {
    this.tracker.beginRound();
    try {
      publish();
    } finally {
      this.tracker.endRound();
    }
  }
}
