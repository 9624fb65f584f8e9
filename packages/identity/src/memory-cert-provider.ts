// A grpc-js certificate provider fed from memory: the trust bundle and (optionally) a key and certificate chain, pushed
// again on every rotation, so new TLS connections of a channel or server use the newest ones.
import type { experimental } from '@grpc/grpc-js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class MemoryCertificateProvider implements experimental.CertificateProvider {
  #ca: experimental.CaCertificateUpdate | null = null;
  #identity: experimental.IdentityCertificateUpdate | null = null;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  /** The roots to verify peers with (PEM). */
  setTrustBundle(pems: readonly string[]): void {
    this.#ca = { caCertificate: Buffer.from(pems.join('\n')) };
    for (const l of this.#caListeners) l(this.#ca);
  }

  /** This side's key and certificate chain (PEM, leaf first). */
  setIdentity(keyPem: string, chainPem: readonly string[]): void {
    this.#identity = { privateKey: Buffer.from(keyPem), certificate: Buffer.from(chainPem.join('\n')) };
    for (const l of this.#identityListeners) l(this.#identity);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Later, not now: grpc-js registers its own watcher only after this returns, and would miss a synchronous update.
    queueMicrotask(() => {
      if (this.#ca !== null && this.#caListeners.has(listener)) listener(this.#ca);
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identity !== null && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}
