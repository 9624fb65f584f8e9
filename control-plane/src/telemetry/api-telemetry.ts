// The operator API's metrics and spans: one SERVER span and one counter sample per call; the call's span stays
// reachable (AsyncLocalStorage) from the store commits it causes, so pushes can link to the apply that caused them.
import { AsyncLocalStorage } from 'node:async_hooks';
import { status } from '@grpc/grpc-js';
import { type SpanContext, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { ApiCallInfo, ApiCallScope, ApiObserver } from '../api/api-observer.ts';
import type { ControlPlaneMetrics } from './metrics.ts';

const RPC_SERVICE = 'trellis.admin.v1.AdminService';

export class ApiTelemetry implements ApiObserver {
  readonly #metrics: ControlPlaneMetrics;
  readonly #tracer: Tracer;
  readonly #calls = new AsyncLocalStorage<SpanContext>();

  constructor(metrics: ControlPlaneMetrics, tracer: Tracer) {
    this.#metrics = metrics;
    this.#tracer = tracer;
  }

  /** The span of the API call whose handler is running (for a store change made inside it), if any. */
  currentCall(): SpanContext | undefined {
    return this.#calls.getStore();
  }

  begin(info: ApiCallInfo): ApiCallScope {
    const span = this.#tracer.startSpan(`${RPC_SERVICE}/${info.method}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': RPC_SERVICE,
        'rpc.method': info.method,
        // Comma-separated (not string arrays): readable as is in every trace UI and OTLP consumer.
        'trellis.resources': info.resources.join(','),
        'trellis.resource_kinds': [...new Set(info.resources.map((r) => r.split('/')[0] ?? r))].join(','),
        ...(info.dryRun === undefined ? {} : { 'trellis.dry_run': info.dryRun }),
      },
    });
    const context = span.spanContext();
    const recording = trace.isSpanContextValid(context);
    let ended = false;
    return {
      run: <T>(fn: () => T): T => (recording ? this.#calls.run(context, fn) : fn()),
      end: (code, error, detail) => {
        if (ended) return;
        ended = true;
        const name = status[code] ?? String(code);
        this.#metrics.apiRequests.inc({ method: info.method, code: name });
        span.setAttribute('rpc.grpc.status_code', code);
        span.setAttribute('trellis.outcome', code === status.OK ? 'ok' : name);
        if (detail) span.setAttributes(detail);
        if (code !== status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? name });
        span.end();
      },
    };
  }
}
