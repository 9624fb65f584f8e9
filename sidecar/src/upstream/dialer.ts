// How the data path opens a connection to an upstream host: plaintext, or mesh mTLS when the cluster's transport
// socket for that endpoint says TLS (the TLS client options come from the sidecar's workload identity).
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { UpstreamTlsConfig } from '../config/model.ts';
import type { Cluster } from './cluster.ts';
import type { Host } from './host/host.ts';

/** A connection being opened: usable once `ready` is emitted ('connect', or 'secureConnect' after the handshake). */
export interface Dialed {
  socket: Socket;
  ready: 'connect' | 'secureConnect';
  /** The TLS in force (undefined: plaintext). */
  tls: UpstreamTlsConfig | undefined;
}

/** TLS client options for a config; undefined while the sidecar holds no workload certificate. */
export type TlsClientOptions = (config: UpstreamTlsConfig) => tls.ConnectionOptions | undefined;

export interface DialOptions {
  allowHalfOpen?: boolean;
  /** ALPN to offer instead of the config's (an HTTP/2 session always asks for h2). */
  alpn?: string[];
}

/** The transport socket of an endpoint: the first of the cluster's matches its metadata satisfies. */
export function upstreamTls(cluster: Cluster, host: Host): UpstreamTlsConfig | undefined {
  const matches = cluster.config.transportSockets;
  if (matches === undefined) return undefined;
  for (const m of matches) {
    if (Object.entries(m.match).every(([k, v]) => host.transportMatch?.[k] === v)) return m.tls;
  }
  return undefined;
}

export class Dialer {
  readonly #tls: TlsClientOptions | undefined;

  /** `tls`: the sidecar's TLS client options (absent: a sidecar without identity, plaintext only). */
  constructor(tlsOptions?: TlsClientOptions) {
    this.#tls = tlsOptions;
  }

  dial(cluster: Cluster, host: Host, opts: DialOptions = {}): Dialed {
    const config = upstreamTls(cluster, host);
    const base = { host: host.address, port: host.port, noDelay: true, allowHalfOpen: opts.allowHalfOpen === true };
    if (config === undefined) return { socket: net.connect(base), ready: 'connect', tls: undefined };
    const options = this.#tls?.(config);
    if (options === undefined) {
      // TLS is required here and this sidecar holds no certificate: a connect failure, never plaintext instead.
      const socket = new net.Socket();
      process.nextTick(() => socket.destroy(new Error('mesh TLS required and no workload certificate')));
      return { socket, ready: 'secureConnect', tls: config };
    }
    const socket = tls.connect({
      ...base,
      ...options,
      ...(opts.alpn === undefined ? {} : { ALPNProtocols: opts.alpn }),
    });
    return { socket, ready: 'secureConnect', tls: config };
  }
}

/** Plaintext to every host (tests, and sidecars without a workload identity). */
export const PLAINTEXT = new Dialer();
