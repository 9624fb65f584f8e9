// TLS termination in front of a listener's connection handler: strict (every connection is TLS) or permissive (the
// first byte tells a TLS ClientHello, 0x16, from plaintext, as Envoy's tls_inspector does). The handler gets the
// decrypted socket once the handshake verified a client certificate from the mesh.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Stats } from '../common/stats.ts';
import type { ListenerConfig, ListenerTls } from '../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from '../listeners/connection-handler.ts';
import { destroyOnError, Handshakes } from './handshakes.ts';
import { type MeshTls, peerAccepted } from './mesh-tls.ts';
import { ServingTlsTerminator } from './serving-tls.ts';
import type { WorkloadCertificate } from './workload-identity.ts';

/** A TLS record's first byte: a handshake (ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** How long a connection may take to send its first byte, and a TLS client its handshake. */
const FIRST_BYTE_MS = 10_000;
const HANDSHAKE_MS = 10_000;

/**
 * Wraps every factory: listeners with TLS terminate it before their handler sees a socket (mesh mTLS with the
 * workload certificate, or edge TLS with certificates from files).
 */
export function tlsTerminating<D>(
  factory: ConnectionHandlerFactory<D>,
  mesh: MeshTls,
  stats: Stats,
  logger?: Logger,
): ConnectionHandlerFactory<D> {
  return (listener, deps) => {
    const inner = factory(listener, deps);
    if (listener.serving !== undefined)
      return new ServingTlsTerminator(inner, listener, listener.serving, stats, logger);
    return listener.tls === undefined ? inner : new TlsTerminator(inner, listener, listener.tls, mesh, stats);
  };
}

class TlsTerminator implements ConnectionHandler {
  readonly #inner: ConnectionHandler;
  readonly #tls: ListenerTls;
  readonly #mesh: MeshTls;
  readonly #stats: Stats;
  readonly #prefix: string;
  /** Connections still deciding plaintext or TLS (the inner handler counts those it was handed). */
  readonly #pending = new Set<Socket>();
  /** Connections shaking hands. */
  readonly #handshakes = new Handshakes();
  #draining = false;
  /**
   * The tls.Server of the current workload certificate and trust bundle (replaced after a rotation of either; old
   * connections keep theirs).
   */
  #tlsServer: { cert: WorkloadCertificate; roots: string; server: tls.Server } | undefined;
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
    // A client that resets before its first byte must cost nothing more than its socket (and never throw).
    socket.on('error', destroyOnError);
    socket.setTimeout(FIRST_BYTE_MS);
    socket.once('timeout', destroyOnTimeout);
    const onClose = (): void => {
      this.#pending.delete(socket);
    };
    socket.once('close', onClose);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      socket.setTimeout(0);
      socket.off('timeout', destroyOnTimeout);
      socket.off('close', onClose);
      socket.off('error', destroyOnError);
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

  /**
   * Hands the connection to a (never listening) tls.Server made for the current certificate: it does the handshake,
   * refuses clients without a valid certificate from the trust bundle, and emits only verified connections.
   */
  #terminate(socket: Socket): void {
    const server = this.#server();
    if (server === undefined) {
      // No workload certificate or trust bundle (yet): nothing to terminate TLS with.
      this.#stats.inc(`${this.#prefix}ssl.no_certificate`);
      socket.destroy();
      return;
    }
    this.#handshakes.begin(socket);
    server.emit('connection', socket);
  }

  #server(): tls.Server | undefined {
    const made = this.#mesh.server(this.#tls.context);
    if (made === undefined) return undefined;
    const held = this.#tlsServer;
    if (held !== undefined && held.cert === made.cert && held.roots === made.roots) return held.server;
    const server = tls.createServer({ ...made.options, handshakeTimeout: HANDSHAKE_MS });
    server.on('secureConnection', (secure: tls.TLSSocket) => {
      this.#handshakes.done(secure);
      // Handed on even while draining: the connection manager answers it and closes (a fresh connection of a
      // caller's pool must not be cut before its first request).
      if (!peerAccepted(secure.getPeerX509Certificate(), secure.authorized, this.#tls.context)) {
        this.#stats.inc(`${this.#prefix}ssl.fail_verify_san`);
        secure.destroy();
        return;
      }
      this.#stats.inc(`${this.#prefix}ssl.handshake`);
      this.#inner.handle(secure as unknown as Socket);
    });
    server.on('tlsClientError', (_err, secure) => {
      this.#stats.inc(`${this.#prefix}ssl.connection_error`);
      this.#handshakes.fail(secure);
    });
    this.#tlsServer = { cert: made.cert, roots: made.roots, server };
    return server;
  }

  drain(graceMs: number): Promise<void> {
    // Connections still deciding plaintext or TLS go on to the draining handler, which answers and closes them.
    this.#draining = true;
    return this.#inner.drain(graceMs);
  }

  activeConnections(): number {
    return this.#inner.activeConnections() + this.#pending.size + this.#handshakes.size;
  }
}

function destroyOnTimeout(this: Socket): void {
  this.destroy();
}
