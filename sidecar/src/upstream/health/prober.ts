// The Prober interface every active health check kind implements, and the default Host / :authority of a check.
import net, { type Socket } from 'node:net';
import type { HealthProbe } from '../../config/model.ts';
import type { ProbeResult } from './health-check-state.ts';

/** Where a check goes: the host's address and port. */
export interface ProbeTarget {
  address: string;
  port: number;
}

/** A connection opened the way the cluster opens its own (plaintext, or mesh mTLS): usable once `ready` fires. */
export interface ProbeConnection {
  socket: Socket;
  ready: 'connect' | 'secureConnect';
  tls: boolean;
}

export interface ProbeContext {
  /** Default Host / :authority (Envoy uses the cluster name). */
  clusterName: string;
  /** Keep the connection between checks (reuse_connection). */
  reuseConnection: boolean;
  /**
   * Opens a connection to the host through the cluster's transport socket (as Envoy's health checks do), so a check
   * reaches a host that takes mTLS only; absent: plaintext.
   */
  connect?: () => ProbeConnection;
}

/** A plaintext connection to the target (the default). */
export function plainConnection(target: ProbeTarget): ProbeConnection {
  return { socket: net.connect({ host: target.address, port: target.port }), ready: 'connect', tls: false };
}

/** Checks one host, again and again; may keep a connection between checks. */
export interface Prober {
  /** One check. Never rejects; aborting `signal` (the check timed out) ends it and drops its connection. */
  check(signal: AbortSignal): Promise<ProbeResult>;
  /** Drops any kept connection (the host left, or the check config changed). */
  close(): void;
}

/** RFC 3986 authority characters (reg-name, port, IP literal). */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:%[\]]+$/;

/**
 * The Host / :authority a check sends when none is configured: the cluster name, as in Envoy, when it is a valid
 * authority; otherwise (Trellis names such as `orders|8080`, which HTTP/2 servers refuse) the host's address:port.
 */
export function defaultAuthority(clusterName: string, target: ProbeTarget): string {
  if (AUTHORITY.test(clusterName)) return clusterName;
  const host = target.address.includes(':') ? `[${target.address}]` : target.address;
  return `${host}:${target.port}`;
}

export type ProberFactory = (target: ProbeTarget, probe: HealthProbe, ctx: ProbeContext) => Prober;
