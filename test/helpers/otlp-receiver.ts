// A real OTLP trace receiver for tests: HTTP/protobuf (POST /v1/traces) or gRPC (TraceService/Export) on 127.0.0.1:0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { decodeTraces, type ReceivedSpan } from '../../demo/src/otlp-traces.ts';

export { decodeTraces, type ReceivedSpan, SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from '../../demo/src/otlp-traces.ts';

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
  return receiver(collected, port, () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    return closed;
  });
}

/** The receiver's face over what it collected, on 127.0.0.1:port. */
function receiver(collected: Collected, port: number, close: () => Promise<void>): OtlpReceiver {
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: collected.spans,
    get requests() {
      return collected.requests;
    },
    waitForSpans: (n, pred = () => true, timeoutMs = 15_000) => collected.wait(n, pred, timeoutMs),
    close,
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
  return receiver(collected, port, () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
}
