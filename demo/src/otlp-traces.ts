// OTLP trace export requests decoded into flat spans, with the OpenTelemetry protos of @opentelemetry/otlp-transformer 0.52.
import otlpRoot from 'otlp-proto-root/build/src/generated/root.js';

/** One received span, flattened: hex ids, plain attribute values, the resource's service name. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 UNSET, 1 OK, 2 ERROR. */
  statusCode: number;
  statusMessage: string;
  serviceName: string;
  resource: Record<string, string | number | boolean>;
  startNanos: bigint;
  endNanos: bigint;
}

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;

interface Decoder {
  decode(buf: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}

interface AnyValueObj {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValueObj {
  key: string;
  value?: AnyValueObj;
}
interface SpanObj {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  attributes?: KeyValueObj[];
  status?: { code?: number; message?: string };
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
}
interface RequestObj {
  resourceSpans?: { resource?: { attributes?: KeyValueObj[] }; scopeSpans?: { spans?: SpanObj[] }[] }[];
}

const REQUEST = (
  otlpRoot as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } };
  }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

function attrValue(v: AnyValueObj | undefined): string | number | boolean {
  if (v === undefined) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return '';
}

function attributesOf(list: KeyValueObj[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) out[kv.key] = attrValue(kv.value);
  return out;
}

/** Decodes an ExportTraceServiceRequest body into flat spans. */
export function decodeTraces(body: Uint8Array): ReceivedSpan[] {
  const obj = REQUEST.toObject(REQUEST.decode(body), { longs: String, bytes: String, defaults: false }) as RequestObj;
  const hex = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');
  const out: ReceivedSpan[] = [];
  for (const rs of obj.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          attributes: attributesOf(s.attributes),
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? '',
          serviceName: String(resource['service.name'] ?? ''),
          resource,
          startNanos: BigInt(s.startTimeUnixNano ?? '0'),
          endNanos: BigInt(s.endTimeUnixNano ?? '0'),
        });
      }
    }
  }
  return out;
}
