// Edge TLS termination in front of a listener's handler (a gateway's HTTPS port): certificates from files chosen by
// the client's SNI (exact name, then the longest `*.suffix`, then the default), re-read when the files change
// (checked at most once a second, on a handshake: new connections get the new certificate, open ones keep theirs);
// TLS 1.2+ with the configured AEAD ciphers; handshakes bounded in time and counted as the listener's connections.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Stats } from '../common/stats.ts';
import { WatchedFiles } from '../common/watched-files.ts';
import type { ListenerConfig, ServingCertificate, ServingTls } from '../config/model.ts';
import type { ConnectionHandler } from '../listeners/connection-handler.ts';
import { destroyOnError, Handshakes } from './handshakes.ts';

const HANDSHAKE_MS = 10_000;

/** One certificate's files, followed as they change, and the secure context made from them (with its PEM). */
class CertificateFiles {
  readonly #watched: WatchedFiles<{ context: tls.SecureContext; material: { cert: Buffer; key: Buffer } }>;

  constructor(cert: ServingCertificate, serving: ServingTls, onError: (err: Error) => void) {
    const options = { minVersion: serving.minVersion, maxVersion: serving.maxVersion, ciphers: serving.ciphers };
    this.#watched = new WatchedFiles(
      [cert.certFile, cert.keyFile],
      ([certPem, keyPem]) => {
        const material = { cert: certPem as Buffer, key: keyPem as Buffer };
        return { context: tls.createSecureContext({ ...material, ...options }), material };
      },
      onError,
    );
  }

  /** The context for a new handshake (new connections get a renewed certificate, open ones keep theirs). */
  context(): tls.SecureContext | undefined {
    return this.#watched.current()?.context;
  }

  /** The PEM of the current context (a server's default context is set from these). */
  get material(): { cert: Buffer; key: Buffer } | undefined {
    return this.#watched.current()?.material;
  }
}

/** Picks a certificate for an SNI name: exact, then the longest wildcard suffix, then the default (no names). */
export function pickCertificate<T>(
  entries: readonly { names: readonly string[]; value: T }[],
  serverName: string | undefined,
): T | undefined {
  const name = serverName?.toLowerCase();
  if (name !== undefined) {
    for (const e of entries) if (e.names.includes(name)) return e.value;
    let best: { length: number; value: T } | undefined;
    for (const e of entries) {
      for (const n of e.names) {
        if (!n.startsWith('*.')) continue;
        const suffix = n.slice(1);
        if (name.endsWith(suffix) && name.length > suffix.length && (best === undefined || suffix.length > best.length))
          best = { length: suffix.length, value: e.value };
      }
    }
    if (best !== undefined) return best.value;
  }
  return (entries.find((e) => e.names.length === 0) ?? entries[0])?.value;
}

export class ServingTlsTerminator implements ConnectionHandler {
  readonly #inner: ConnectionHandler;
  readonly #stats: Stats;
  readonly #prefix: string;
  readonly #files: { names: readonly string[]; value: CertificateFiles }[];
  readonly #server: tls.Server;
  readonly #handshakes = new Handshakes();
  #draining = false;
  #default: tls.SecureContext | undefined;
  readonly #versions: Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;

  constructor(inner: ConnectionHandler, listener: ListenerConfig, serving: ServingTls, stats: Stats, logger?: Logger) {
    this.#inner = inner;
    this.#stats = stats;
    this.#prefix = `listener.${listener.name}.`;
    this.#versions = { minVersion: serving.minVersion, maxVersion: serving.maxVersion, ciphers: serving.ciphers };
    const onError = (err: Error): void => {
      stats.inc(`${this.#prefix}ssl.certificate_load_failed`);
      logger?.warn(
        { listener: listener.name, err: err.message },
        'TLS certificate unreadable; keeping the last good one',
      );
    };
    this.#files = serving.certificates.map((c) => ({
      names: c.serverNames,
      value: new CertificateFiles(c, serving, onError),
    }));
    this.#server = tls.createServer({
      minVersion: serving.minVersion,
      maxVersion: serving.maxVersion,
      ciphers: serving.ciphers,
      honorCipherOrder: true,
      handshakeTimeout: HANDSHAKE_MS,
      ...(serving.alpn.length > 0 ? { ALPNProtocols: serving.alpn } : {}),
      SNICallback: (name, cb) => cb(null, pickCertificate(this.#files, name)?.context()),
    });
    this.#server.on('secureConnection', (secure: tls.TLSSocket) => {
      this.#handshakes.done(secure);
      this.#stats.inc(`${this.#prefix}ssl.handshake`);
      this.#inner.handle(secure as unknown as Socket);
    });
    this.#server.on('tlsClientError', (_err, secure) => {
      this.#stats.inc(`${this.#prefix}ssl.connection_error`);
      this.#handshakes.fail(secure);
    });
  }

  handle(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    // Clients without SNI get the default certificate: the server's own context, refreshed as its files change.
    const files = pickCertificate(this.#files, undefined);
    const fallback = files?.context();
    const material = files?.material;
    if (fallback === undefined || material === undefined) {
      this.#stats.inc(`${this.#prefix}ssl.no_certificate`);
      socket.destroy();
      return;
    }
    if (fallback !== this.#default) {
      this.#default = fallback;
      this.#server.setSecureContext({ ...material, ...this.#versions });
    }
    socket.on('error', destroyOnError);
    this.#handshakes.begin(socket);
    this.#server.emit('connection', socket);
  }

  drain(graceMs: number): Promise<void> {
    this.#draining = true;
    return this.#inner.drain(graceMs);
  }

  activeConnections(): number {
    return this.#inner.activeConnections() + this.#handshakes.size;
  }
}
