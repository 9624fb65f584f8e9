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

export class ProxySpan implements ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentId: string;
  /** The parent came from another process (the request's incoming context). */
  readonly parentRemote: boolean;
  readonly traceState: string;
  /** performance.now() ms. */
  readonly startMs: number;
  endMs = 0;
  status: SpanStatus = STATUS_UNSET;
  readonly attributes: Attributes = {};
  readonly resource: Resource;
  readonly instrumentationScope: SpanScope['instrumentationScope'];
  readonly links = NO_LINKS;
  readonly events = NO_EVENTS;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  ended = false;
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
    traceState: string,
    startMs: number,
  ) {
    this.resource = scope.resource;
    this.instrumentationScope = scope.instrumentationScope;
    this.kind = kind;
    this.name = name;
    this.traceId = traceId;
    this.spanId = spanId;
    this.parentId = parentId;
    this.parentRemote = parentRemote;
    this.traceState = traceState;
    this.startMs = startMs;
    if (parentId !== '') this.parentSpanContext = { traceId, spanId: parentId, traceFlags: 1, isRemote: parentRemote };
  }

  spanContext(): OtelSpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: 1, isRemote: false };
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
