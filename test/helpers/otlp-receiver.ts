// A real OTLP trace receiver for tests: HTTP/protobuf (POST /v1/traces) or gRPC (TraceService/Export) on 127.0.0.1:0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
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

export interface OtlpReceiver {
  /** What a sidecar's --tracing-endpoint takes: http://127.0.0.1:PORT (HTTP: /v1/traces is implied). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests received (each may carry several spans). */
  requests: number;
  /** Resolves once spans matching pred number at least n (bounded by timeoutMs). */
  waitForSpans(n: number, pred?: (s: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

class Collected {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  private waiters: { check: () => boolean }[] = [];

  add(spans: ReceivedSpan[]): void {
    this.requests++;
    this.spans.push(...spans);
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  wait(n: number, pred: (s: ReceivedSpan) => boolean, timeoutMs: number): Promise<ReceivedSpan[]> {
    return new Promise((resolve, reject) => {
      const matching = (): ReceivedSpan[] => this.spans.filter(pred);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`expected ${n} spans within ${timeoutMs} ms, got ${matching().length}`));
      }, timeoutMs);
      const waiter = {
        check: (): boolean => {
          const m = matching();
          if (m.length < n) return false;
          clearTimeout(timer);
          resolve(m);
          return true;
        },
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }
}

/** An OTLP/HTTP receiver: POST /v1/traces with application/x-protobuf bodies. */
export async function startOtlpHttpReceiver(): Promise<OtlpReceiver> {
  const collected = new Collected();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      let spans: ReceivedSpan[];
      try {
        spans = decodeTraces(Buffer.concat(chunks));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        return;
      }
      collected.add(spans);
      // An empty ExportTraceServiceResponse.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: collected.spans,
    get requests() {
      return collected.requests;
    },
    waitForSpans: (n, pred = () => true, timeoutMs = 15_000) => collected.wait(n, pred, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export. */
export async function startOtlpGrpcReceiver(): Promise<OtlpReceiver> {
  const collected = new Collected();
  const server = new grpc.Server();
  const service: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(service, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      try {
        collected.add(decodeTraces(call.request));
        callback(null, Buffer.alloc(0));
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: String(err) });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: collected.spans,
    get requests() {
      return collected.requests;
    },
    waitForSpans: (n, pred = () => true, timeoutMs = 15_000) => collected.wait(n, pred, timeoutMs),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
