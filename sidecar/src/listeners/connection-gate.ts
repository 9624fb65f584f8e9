// Admission of new downstream connections: at most N per listener and M per client IP; established ones never cut.
import type { Socket } from 'node:net';

/** Connection limits (0 = unlimited). */
export interface ConnectionLimits {
  /** Open connections per listener (Envoy's connection_limit filter, max_connections; overload: cx_overflow). */
  maxConnections: number;
  /** Open connections from one client IP per listener (a single peer cannot take a listener's whole allowance). */
  maxConnectionsPerClientIp: number;
}

/**
 * Defaults: a sidecar's listener carries its app's outbound traffic or its peers' inbound traffic; a peer sidecar
 * opens at most its cluster's max_connections (1,024 by default) to one host per cluster, so 2,048 per client IP
 * leaves room for two clusters (subsets) on the same host, and 8,192 per listener for four such peers at full
 * pools or many ordinary ones.
 */
export const CONNECTION_LIMIT_DEFAULTS: Readonly<ConnectionLimits> = {
  maxConnections: 8192,
  maxConnectionsPerClientIp: 2048,
};

const kGate = Symbol('gate');

interface GatedSocket extends Socket {
  [kGate]?: string | undefined;
}

/** Counts open connections of one listener, by client IP; refused ones are counted in `overflow`. */
export class ConnectionGate {
  /** Connections refused because a limit was reached (listener downstream_cx_overflow). */
  overflow = 0;
  private open = 0;
  private readonly byIp = new Map<string, number>();
  private readonly onClose: (this: GatedSocket) => void;

  constructor() {
    const gate = this;
    this.onClose = function (this: GatedSocket) {
      gate.release(this);
    };
  }

  /** Admits the socket (counted until it closes) or returns false: the caller destroys it. */
  admit(socket: Socket, limits: ConnectionLimits): boolean {
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.byIp.get(ip) ?? 0;
    const { maxConnections, maxConnectionsPerClientIp } = limits;
    if (
      (maxConnections > 0 && this.open >= maxConnections) ||
      (maxConnectionsPerClientIp > 0 && fromIp >= maxConnectionsPerClientIp)
    ) {
      this.overflow++;
      return false;
    }
    this.open++;
    this.byIp.set(ip, fromIp + 1);
    (socket as GatedSocket)[kGate] = ip;
    socket.once('close', this.onClose);
    return true;
  }

  /** Open connections admitted by this gate. */
  get size(): number {
    return this.open;
  }

  /** Client IPs with a connection open (for tests). */
  get clients(): number {
    return this.byIp.size;
  }

  private release(socket: GatedSocket): void {
    const ip = socket[kGate];
    if (ip === undefined) return;
    socket[kGate] = undefined;
    this.open--;
    const n = (this.byIp.get(ip) ?? 1) - 1;
    if (n === 0) this.byIp.delete(ip);
    else this.byIp.set(ip, n);
  }
}
