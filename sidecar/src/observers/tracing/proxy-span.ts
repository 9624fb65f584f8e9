// One finished span of the proxy, built directly (no context API, no SDK Span): a small ReadableSpan for the exporter.
import {
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext as OtelSpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';

export { SpanKind };

const NO_LINKS: Link[] = [];
const NO_EVENTS: TimedEvent[] = [];
const STATUS_UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const ORIGIN = performance.timeOrigin;

/** What every span of one tracer shares: its resource (service) and instrumentation scope. */
export interface SpanScope {
  readonly resource: Resource;
  readonly instrumentationScope: { name: string; version?: string };
}

/** performance.now() ms as an OTel HrTime [seconds, nanoseconds] since the epoch. */
export function hrTimeOf(perfMs: number): HrTime {
  const ms = ORIGIN + perfMs;
  const sec = Math.floor(ms / 1000);
  const ns = Math.round((ms - sec * 1000) * 1e6);
  return ns >= 1e9 ? [sec + 1, ns - 1e9] : [sec, ns];
}

/**
 * Instance fields are only what differs per span; constants (no links or events, nothing dropped) and the scope's
 * resource live on the prototype, and times stay performance.now() numbers until the exporter asks for HrTime.
 */
export class ProxySpan implements ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentId: string;
  /** performance.now() ms; endMs 0 until the span ends. */
  readonly startMs: number;
  endMs = 0;
  status: SpanStatus = STATUS_UNSET;
  readonly attributes: Attributes = {};
  private readonly scope: SpanScope;
  /** Set only for a child span (the exporter reads the parent's span id from it). */
  readonly parentSpanContext?: OtelSpanContext;

  constructor(
    scope: SpanScope,
    kind: SpanKind,
    name: string,
    traceId: string,
    spanId: string,
    parentId: string,
    parentRemote: boolean,
    startMs: number,
  ) {
    this.scope = scope;
    this.kind = kind;
    this.name = name;
    this.traceId = traceId;
    this.spanId = spanId;
    this.parentId = parentId;
    this.startMs = startMs;
    if (parentId !== '') this.parentSpanContext = { traceId, spanId: parentId, traceFlags: 1, isRemote: parentRemote };
  }

  spanContext(): OtelSpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: 1, isRemote: false };
  }

  get resource(): Resource {
    return this.scope.resource;
  }

  get instrumentationScope(): SpanScope['instrumentationScope'] {
    return this.scope.instrumentationScope;
  }

  get ended(): boolean {
    return this.endMs !== 0;
  }

  get links(): Link[] {
    return NO_LINKS;
  }

  get events(): TimedEvent[] {
    return NO_EVENTS;
  }

  get droppedAttributesCount(): number {
    return 0;
  }

  get droppedEventsCount(): number {
    return 0;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  get startTime(): HrTime {
    return hrTimeOf(this.startMs);
  }

  get endTime(): HrTime {
    return hrTimeOf(this.endMs);
  }

  get duration(): HrTime {
    const ms = Math.max(0, this.endMs - this.startMs);
    const sec = Math.floor(ms / 1000);
    return [sec, Math.round((ms - sec * 1000) * 1e6)];
  }

  /** Marks the span as failed (status ERROR with a short reason). */
  fail(message: string): void {
    this.status = { code: SpanStatusCode.ERROR, message };
  }
}
