// A small OTLP/HTTP trace receiver for the local demo: the sidecars export their spans here, the live view shows them.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTraces, type ReceivedSpan } from './otlp-traces.ts';

/**
 * One trace as seen so far: the services its spans came from, in call order (by their spans' depth in the trace's
 * parent links, then start: start times of different processes may be a few ms apart), and its extent.
 */
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

interface SpanNode {
  parent: string;
  service: string;
  startNs: number;
}

interface TraceState {
  /** Service → start of its earliest span (ns). */
  services: Map<string, number>;
  /** Span id → its parent, service and start. */
  nodes: Map<string, SpanNode>;
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

  /** Adds decoded spans (what each export request carries). */
  record(spans: readonly ReceivedSpan[]): void {
    for (const span of spans) {
      this.spans++;
      this.services.add(span.serviceName);
      let t = this.traces.get(span.traceId);
      if (t === undefined) {
        t = { services: new Map(), nodes: new Map(), spans: 0, startNs: Number.POSITIVE_INFINITY, endNs: 0 };
        this.traces.set(span.traceId, t);
        this.traceCount++;
        if (this.traces.size > KEEP_TRACES) this.traces.delete(this.traces.keys().next().value as string);
      }
      t.spans++;
      const start = Number(span.startNanos);
      t.services.set(span.serviceName, Math.min(t.services.get(span.serviceName) ?? Number.POSITIVE_INFINITY, start));
      t.nodes.set(span.spanId, { parent: span.parentSpanId, service: span.serviceName, startNs: start });
      t.startNs = Math.min(t.startNs, start);
      t.endNs = Math.max(t.endNs, Number(span.endNanos));
    }
  }

  stats(): TraceStats {
    let widest: TraceSummary | undefined;
    for (const [traceId, t] of this.traces) {
      if (widest !== undefined && t.services.size < widest.services.length) continue;
      widest = { traceId, services: callOrder(t), spans: t.spans, durationMs: (t.endNs - t.startNs) / 1e6 };
    }
    return { spans: this.spans, traces: this.traceCount, services: [...this.services].sort(), widest };
  }
}

/** A trace's services by the shallowest depth of their spans (a span whose parent is not here counts as a root). */
function callOrder(t: TraceState): string[] {
  const depths = new Map<string, number>();
  const depthOf = (id: string, seen: number): number => {
    const known = depths.get(id);
    if (known !== undefined) return known;
    const node = t.nodes.get(id);
    const d =
      node === undefined || seen > t.nodes.size || !t.nodes.has(node.parent) ? 0 : depthOf(node.parent, seen + 1) + 1;
    depths.set(id, d);
    return d;
  };
  const best = new Map<string, { depth: number; startNs: number }>();
  for (const [id, node] of t.nodes) {
    const depth = depthOf(id, 0);
    const b = best.get(node.service);
    if (b === undefined || depth < b.depth || (depth === b.depth && node.startNs < b.startNs))
      best.set(node.service, { depth, startNs: node.startNs });
  }
  return [...best].sort(([, a], [, b]) => a.depth - b.depth || a.startNs - b.startNs).map(([service]) => service);
}
