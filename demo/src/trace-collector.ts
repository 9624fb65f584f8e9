// A small OTLP/HTTP trace receiver for the local demo: the sidecars export their spans here, the live view shows them.
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

interface OtlpValue {
  stringValue?: string;
}
interface OtlpSpan {
  traceId: Uint8Array;
  startTimeUnixNano: { toNumber(): number } | number;
  endTimeUnixNano: { toNumber(): number } | number;
}
interface OtlpRequest {
  resourceSpans: {
    resource?: { attributes: { key: string; value?: OtlpValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}
interface OtlpRoot {
  opentelemetry: {
    proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(b: Uint8Array): OtlpRequest } } } } };
  };
}

// The OpenTelemetry protos as a protobufjs root, from the installed @opentelemetry/otlp-transformer 0.52 (devDependency).
const require = createRequire(import.meta.url);
const ExportTraceServiceRequest = (require('otlp-proto-root/build/src/generated/root.js') as OtlpRoot).opentelemetry
  .proto.collector.trace.v1.ExportTraceServiceRequest;

/** One trace as seen so far: the services its spans came from, in the order of their first span's start, and its extent. */
export interface TraceSummary {
  traceId: string;
  services: string[];
  spans: number;
  durationMs: number;
}

export interface TraceStats {
  spans: number;
  traces: number;
  /** Every service that exported a span, sorted. */
  services: string[];
  /** Of the most recent traces, the one that crossed the most services. */
  widest: TraceSummary | undefined;
}

interface TraceState {
  /** Service → start of its earliest span (ns). */
  services: Map<string, number>;
  spans: number;
  startNs: number;
  endNs: number;
}

const KEEP_TRACES = 200;

const nanos = (v: { toNumber(): number } | number): number => (typeof v === 'number' ? v : v.toNumber());

export class TraceCollector {
  private readonly server: http.Server;
  private readonly traces = new Map<string, TraceState>();
  private readonly services = new Set<string>();
  private spans = 0;
  private traceCount = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.record(ExportTraceServiceRequest.decode(Buffer.concat(chunks)));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
  }

  /** Listens on 127.0.0.1:port; returns the traces endpoint for `--tracing-endpoint`. */
  async listen(port: number): Promise<string> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private record(request: OtlpRequest): void {
    for (const rs of request.resourceSpans) {
      const service = rs.resource?.attributes.find((a) => a.key === 'service.name')?.value?.stringValue ?? 'unknown';
      this.services.add(service);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          this.spans++;
          const id = Buffer.from(span.traceId).toString('hex');
          let t = this.traces.get(id);
          if (t === undefined) {
            t = { services: new Map(), spans: 0, startNs: Number.POSITIVE_INFINITY, endNs: 0 };
            this.traces.set(id, t);
            this.traceCount++;
            if (this.traces.size > KEEP_TRACES) this.traces.delete(this.traces.keys().next().value as string);
          }
          t.spans++;
          const start = nanos(span.startTimeUnixNano);
          t.services.set(service, Math.min(t.services.get(service) ?? Number.POSITIVE_INFINITY, start));
          t.startNs = Math.min(t.startNs, start);
          t.endNs = Math.max(t.endNs, nanos(span.endTimeUnixNano));
        }
      }
    }
  }

  stats(): TraceStats {
    let widest: TraceSummary | undefined;
    for (const [traceId, t] of this.traces) {
      if (widest !== undefined && t.services.size < widest.services.length) continue;
      const services = [...t.services].sort((a, b) => a[1] - b[1]).map(([name]) => name);
      widest = { traceId, services, spans: t.spans, durationMs: (t.endNs - t.startNs) / 1e6 };
    }
    return { spans: this.spans, traces: this.traceCount, services: [...this.services].sort(), widest };
  }
}
