// Access log lines of the TCP proxy: one per connection when it closes (or is refused), from the listener's
// `access_log` sinks compiled once per handler.

import type { DownstreamAddresses } from '../common/connection-id.ts';
import type { LogSource } from '../config/access-log-source.ts';
import type { AccessLogConfig } from '../config/model.ts';
import { type AccessLogSink, compileSinks, sampleSinks, writeLine } from '../observers/access-log/access-log-sink.ts';
import type { LogWriters } from '../observers/access-log/log-writers.ts';

/** What one TCP connection leaves behind. */
export interface TcpConnectionRecord {
  connectionId: number;
  /** The client's and the listener's `address:port` (captured at accept: a closed socket no longer has them). */
  addresses: DownstreamAddresses;
  startTime: number;
  startMs: number;
  bytesReceived: number;
  bytesSent: number;
  flags: string;
  cluster: string | undefined;
  upstreamHost: string | undefined;
}

class TcpLogSource implements LogSource {
  readonly startTime: number;
  readonly durationMs: number;
  readonly protocol = undefined;
  readonly responseCode = 0;
  readonly flags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly downstreamRemoteAddress: string | undefined;
  readonly downstreamLocalAddress: string | undefined;
  readonly downstreamPeerUriSan: string | undefined;
  readonly downstreamLocalUriSan: string | undefined;
  readonly routeName = undefined;
  readonly grpcStatus = undefined;
  readonly attempts = undefined;
  readonly connectionId: number;

  constructor(r: TcpConnectionRecord) {
    this.startTime = r.startTime;
    this.durationMs = performance.now() - r.startMs;
    this.flags = r.flags;
    this.bytesReceived = r.bytesReceived;
    this.bytesSent = r.bytesSent;
    this.upstreamHost = r.upstreamHost;
    this.upstreamCluster = r.cluster;
    this.downstreamRemoteAddress = r.addresses.remote;
    this.downstreamLocalAddress = r.addresses.local;
    this.downstreamPeerUriSan = r.addresses.peerUri;
    this.downstreamLocalUriSan = r.addresses.localUri;
    this.connectionId = r.connectionId;
  }

  requestHeader(): undefined {
    return undefined;
  }
  responseHeader(): undefined {
    return undefined;
  }
  traceId(): undefined {
    return undefined;
  }
}

export class TcpAccessLog {
  private readonly sinks: readonly AccessLogSink[];

  constructor(configs: readonly AccessLogConfig[], writers: LogWriters, field: string) {
    this.sinks = compileSinks(configs, 'tcp', writers, field);
  }

  /** Writes the connection's line to every sink that samples it. */
  log(record: TcpConnectionRecord): void {
    const mask = sampleSinks(this.sinks);
    if (mask === 0) return;
    const source = new TcpLogSource(record);
    for (let i = 0; i < this.sinks.length; i++) {
      if ((mask & (1 << i)) !== 0) writeLine(this.sinks[i] as AccessLogSink, source, 0);
    }
  }
}
