// TLS termination in front of a listener's connection handler: strict (every connection is TLS) or permissive (the
// first byte tells a TLS ClientHello, 0x16, from plaintext, as Envoy's tls_inspector does). The handler gets the
// decrypted socket once the handshake verified a client certificate from the mesh.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Stats } from '../common/stats.ts';
import type { ListenerConfig, ListenerTls } from '../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from '../listeners/connection-handler.ts';
import { type MeshTls, peerAccepted } from './mesh-tls.ts';

/** A TLS record's first byte: a handshake (ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** How long a connection may take to send its first byte, and a TLS client its handshake. */
const FIRST_BYTE_MS = 10_000;
const HANDSHAKE_MS = 10_000;

/** Wraps every factory: listeners with TLS terminate it before their handler sees a socket. */
export function tlsTerminating<D>(
  factory: ConnectionHandlerFactory<D>,
  mesh: MeshTls,
  stats: Stats,
): ConnectionHandlerFactory<D> {
  return (listener, deps) => {
    const inner = factory(listener, deps);
    return listener.tls === undefined ? inner : new TlsTerminator(inner, listener, listener.tls, mesh, stats);
  };
}

class TlsTerminator implements ConnectionHandler {
  readonly #inner: ConnectionHandler;
  readonly #tls: ListenerTls;
  readonly #mesh: MeshTls;
  readonly #stats: Stats;
  readonly #prefix: string;
  /** Connections still deciding or shaking hands (the inner handler counts the rest). */
  readonly #pending = new Set<Socket>();
  #draining = false;
  readonly #resumePlaintext: boolean;

  constructor(inner: ConnectionHandler, listener: ListenerConfig, config: ListenerTls, mesh: MeshTls, stats: Stats) {
    this.#inner = inner;
    this.#tls = config;
    this.#mesh = mesh;
    this.#stats = stats;
    this.#prefix = `listener.${listener.name}.`;
    this.#resumePlaintext = listener.filter.type === 'http';
  }

  handle(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    if (this.#tls.mode === 'strict') {
      this.#terminate(socket);
      return;
    }
    this.#pending.add(socket);
    socket.setTimeout(FIRST_BYTE_MS, () => socket.destroy());
    const onClose = (): void => {
      this.#pending.delete(socket);
    };
    socket.once('close', onClose);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      socket.setTimeout(0);
      socket.off('close', onClose);
      this.#pending.delete(socket);
      if (first[0] === TLS_HANDSHAKE) this.#terminate(socket);
      else {
        this.#stats.inc(`${this.#prefix}plaintext_connections`);
        this.#inner.handle(socket);
        // The HTTP codec sniffer reads with a 'data' listener (an explicitly paused socket would never flow); the
        // TCP proxy pipes once its upstream connects, which resumes it then.
        if (this.#resumePlaintext) socket.resume();
      }
    });
  }

  #terminate(socket: Socket): void {
    const context = this.#tls.context;
    const secureContext = this.#mesh.server(context);
    if (secureContext === undefined) {
      // No workload certificate (yet): nothing to terminate TLS with.
      this.#stats.inc(`${this.#prefix}ssl.no_certificate`);
      socket.destroy();
      return;
    }
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext,
      requestCert: true,
      rejectUnauthorized: context.requireClientCertificate,
      ALPNProtocols: context.alpn.length > 0 ? context.alpn : undefined,
    } as tls.TLSSocketOptions);
    this.#pending.add(secure as unknown as Socket);
    const timer = setTimeout(() => secure.destroy(), HANDSHAKE_MS);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      this.#pending.delete(secure as unknown as Socket);
    };
    secure.once('secure', () => {
      done();
      if (!peerAccepted(secure.getPeerX509Certificate(), context)) {
        this.#stats.inc(`${this.#prefix}ssl.fail_verify_san`);
        secure.destroy();
        return;
      }
      this.#stats.inc(`${this.#prefix}ssl.handshake`);
      this.#inner.handle(secure as unknown as Socket);
    });
    secure.on('error', () => {
      done();
      this.#stats.inc(`${this.#prefix}ssl.connection_error`);
      secure.destroy();
    });
    secure.once('close', done);
    // No socket.resume() here: the TLS socket reads the raw handle itself (and takes over what a peek left buffered);
    // a flowing raw socket would steal its bytes.
  }

  drain(graceMs: number): Promise<void> {
    this.#draining = true;
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
    return this.#inner.drain(graceMs);
  }

  activeConnections(): number {
    return this.#inner.activeConnections() + this.#pending.size;
  }
}
