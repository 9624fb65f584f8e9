// A small OTLP/HTTP trace receiver for the local demo: the sidecars export their spans here, the live view shows them.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraces, type ReceivedSpan } from './otlp-traces.ts';

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
          this.record(decodeTraces(Buffer.concat(chunks)));
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

  private record(spans: readonly ReceivedSpan[]): void {
    for (const span of spans) {
      this.spans++;
      this.services.add(span.serviceName);
      let t = this.traces.get(span.traceId);
      if (t === undefined) {
        t = { services: new Map(), spans: 0, startNs: Number.POSITIVE_INFINITY, endNs: 0 };
        this.traces.set(span.traceId, t);
        this.traceCount++;
        if (this.traces.size > KEEP_TRACES) this.traces.delete(this.traces.keys().next().value as string);
      }
      t.spans++;
      const start = Number(span.startNanos);
      t.services.set(span.serviceName, Math.min(t.services.get(span.serviceName) ?? Number.POSITIVE_INFINITY, start));
      t.startNs = Math.min(t.startNs, start);
      t.endNs = Math.max(t.endNs, Number(span.endNanos));
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
