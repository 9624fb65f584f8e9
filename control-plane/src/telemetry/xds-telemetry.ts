// The xDS server's metrics and spans: pushes, ACKs, NACKs, push latency and convergence; one span per push, from
// the write until the client's ACK or NACK, linked to the API calls whose changes it carries.
import { type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { clientKindOf } from '@trellis/node-contract';
import type { ProxyRecord } from '../xds/proxy-tracker.ts';
import type { XdsObserver, XdsPush } from '../xds/xds-observer.ts';
import type { ConvergenceTracker } from './convergence.ts';
import type { ControlPlaneMetrics } from './metrics.ts';

interface OpenPush {
  span: Span;
  nonce: string;
}

export interface XdsTelemetryOptions {
  metrics: ControlPlaneMetrics;
  tracer: Tracer;
  tracker: ConvergenceTracker;
  now(): number;
}

export class XdsTelemetry implements XdsObserver {
  readonly #opts: XdsTelemetryOptions;
  /** Push spans waiting for an answer, by stream|typeUrl (a newer push ends the older one). */
  readonly #open = new Map<string, OpenPush>();

  constructor(opts: XdsTelemetryOptions) {
    this.#opts = opts;
  }

  pushed(push: XdsPush): void {
    const { metrics, tracker, tracer } = this.#opts;
    const { record, typeUrl, nonce } = push;
    metrics.pushes.inc({ type_url: typeUrl });
    const round = tracker.current;
    if (round) {
      metrics.pushLatency.observe({ type_url: typeUrl }, (this.#opts.now() - round.startedAt) / 1000);
    }
    tracker.pushed(record.streamId, typeUrl);
    const k = `${record.streamId}|${typeUrl}`;
    this.#finish(k, 'superseded');
    const span = tracer.startSpan('xds.push', {
      kind: SpanKind.PRODUCER,
      links: (round?.links ?? []).map((context) => ({ context })),
      attributes: {
        'xds.node_id': record.node.id,
        'xds.client_kind': clientKindOf(record.node),
        'xds.stream_id': record.streamId,
        'xds.protocol': record.protocol,
        'xds.type_url': typeUrl,
        'xds.version': push.version,
        'xds.nonce': nonce,
        'xds.resource_count': push.resourceCount,
        'xds.removed_count': push.removedCount,
      },
    });
    this.#open.set(k, { span, nonce });
  }

  acked(record: ProxyRecord, typeUrl: string, nonce: string): void {
    this.#opts.metrics.acks.inc({ type_url: typeUrl });
    this.#opts.tracker.ack(record.streamId, typeUrl);
    this.#finish(`${record.streamId}|${typeUrl}`, 'ack', nonce);
  }

  nacked(record: ProxyRecord, typeUrl: string, nonce: string, error: string): void {
    this.#opts.metrics.nacks.inc({ type_url: typeUrl });
    this.#opts.tracker.nack(record.streamId, typeUrl);
    this.#finish(`${record.streamId}|${typeUrl}`, 'nack', nonce, error);
  }

  deferred(record: ProxyRecord, typeUrl: string): void {
    this.#opts.tracker.deferred(record.streamId, typeUrl);
  }

  caughtUp(record: ProxyRecord, typeUrl: string): void {
    this.#opts.tracker.caughtUp(record.streamId, typeUrl);
  }

  closed(record: ProxyRecord): void {
    this.#opts.tracker.closed(record.streamId);
    const prefix = `${record.streamId}|`;
    for (const k of [...this.#open.keys()]) if (k.startsWith(prefix)) this.#finish(k, 'stream closed');
  }

  /** Ends the open push span of k with its outcome; an answer to an older nonce leaves the newer push open. */
  #finish(k: string, outcome: string, nonce?: string, error?: string): void {
    const open = this.#open.get(k);
    if (!open || (nonce !== undefined && nonce !== open.nonce)) return;
    this.#open.delete(k);
    open.span.setAttribute('xds.outcome', outcome);
    if (outcome === 'nack') open.span.setStatus({ code: SpanStatusCode.ERROR, message: error ?? 'NACK' });
    open.span.end();
  }
}
