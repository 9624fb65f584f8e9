// Access log lines of the TCP proxy: one per connection when it closes (or is refused), from the listener's
// `access_log` sinks compiled once per handler.
import type { Socket } from 'node:net';
import { type AccessLogSink, compileSinks, sampleSinks, writeLine } from '../access-log/access-log-sink.ts';
import type { LogSource } from '../access-log/log-source.ts';
import type { LogWriters } from '../access-log/log-writers.ts';
import type { AccessLogConfig } from '../config/model.ts';

let nextConnectionId = 1;

/** A process-wide connection id (%CONNECTION_ID%). */
export function newConnectionId(): number {
  return nextConnectionId++;
}

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

export interface DownstreamAddresses {
  remote: string | undefined;
  local: string | undefined;
}

/** The addresses of an accepted socket, for %DOWNSTREAM_REMOTE_ADDRESS% and %DOWNSTREAM_LOCAL_ADDRESS%. */
export function downstreamAddresses(socket: Socket): DownstreamAddresses {
  return {
    remote: address(socket.remoteAddress, socket.remotePort),
    local: address(socket.localAddress, socket.localPort),
  };
}

function address(ip: string | undefined, port: number | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const host = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
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
