// The sidecar's workload identity: a key made here, a certificate from the mesh CA (first with the join token, then
// renewed with the certificate held), rotated at half-life; retried with backoff while the CA is unreachable.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Stats } from '../common/stats.ts';
import { type CertificateCredential, requestCertificate } from './certificate-client.ts';
import { newWorkloadKey } from './workload-key.ts';

export interface WorkloadCertificate {
  keyPem: string;
  /** PEM, the workload certificate first. */
  chainPem: string[];
  /** The SPIFFE id the CA granted (the certificate's URI SAN). */
  spiffeId: string;
  notBefore: number;
  notAfter: number;
}

export interface WorkloadIdentityOptions {
  /** The control plane's xDS addresses (the CA answers there), tried in order. */
  addresses: readonly string[];
  /** TLS to the control plane (control-plane-trust.ts: bootstrapCredentials). */
  credentials: ChannelCredentials;
  /** The join token (`trellisctl token create`) for the first certificate, and again if one ever expired. */
  token: string;
  /** The service (the CSR's common name; the CA grants the token's identity). */
  service: string;
  /** Lifetime to ask for in seconds; 0 = the CA's default. */
  ttlSeconds?: number;
  stats: Stats;
  logger: Logger;
  now?: () => number;
}

/** setTimeout's longest delay; a later rotation is re-armed when it comes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

export class WorkloadIdentity {
  #current: WorkloadCertificate | undefined;
  readonly #opts: WorkloadIdentityOptions;
  readonly #listeners = new Set<(cert: WorkloadCertificate) => void>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  #stopped = false;
  /** The last renewal was refused as unauthenticated: the next request uses the join token. */
  #renewalRefused = false;
  #first: { resolve: (c: WorkloadCertificate) => void; promise: Promise<WorkloadCertificate> };
  readonly #unregister: () => void;

  constructor(opts: WorkloadIdentityOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    let resolve!: (c: WorkloadCertificate) => void;
    const promise = new Promise<WorkloadCertificate>((r) => {
      resolve = r;
    });
    this.#first = { resolve, promise };
    this.#unregister = opts.stats.gauge('tls.workload_cert.expiry_seconds', () =>
      this.#current === undefined ? 0 : Math.max(0, Math.round((this.#current.notAfter - this.#now()) / 1000)),
    );
  }

  /** The certificate in force (undefined until the first one arrived). */
  get current(): WorkloadCertificate | undefined {
    return this.#current;
  }

  /** Starts asking; resolves with the first certificate (retrying until one comes or stop()). */
  start(): Promise<WorkloadCertificate> {
    void this.#obtain();
    return this.#first.promise;
  }

  /** Called with every new certificate (a rotation); returns the unsubscribe function. */
  onChange(listener: (cert: WorkloadCertificate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unregister();
  }

  /**
   * The credential for the next request: the certificate held while it is valid, else the join token (also after a
   * renewal was refused: the CA may have a new root that no longer knows the held certificate).
   */
  #credential(): CertificateCredential {
    const held = this.#current;
    if (held !== undefined && held.notAfter > this.#now() && !this.#renewalRefused) {
      return { heldCertDer: new X509Certificate(held.chainPem[0] as string).raw, heldKeyPem: held.keyPem };
    }
    return { token: this.#opts.token };
  }

  async #obtain(): Promise<void> {
    if (this.#stopped) return;
    const { stats, logger } = this.#opts;
    const renewal = this.#current !== undefined;
    try {
      const key = await newWorkloadKey(this.#opts.service);
      const credential = this.#credential();
      const chain = await requestCertificate(
        this.#opts.addresses,
        this.#opts.credentials,
        key.csrPem,
        this.#opts.ttlSeconds ?? 0,
        credential,
      );
      if (this.#stopped) return;
      const leaf = new X509Certificate(chain[0] as string);
      if (!leaf.checkPrivateKey(createPrivateKey(key.keyPem)))
        throw new Error('the CA answered with a certificate for another key');
      const uri = /URI:([^,]+)/.exec(leaf.subjectAltName ?? '')?.[1];
      if (uri === undefined) throw new Error('the certificate has no SPIFFE URI SAN');
      const cert: WorkloadCertificate = {
        keyPem: key.keyPem,
        chainPem: chain,
        spiffeId: uri,
        notBefore: Date.parse(leaf.validFrom),
        notAfter: Date.parse(leaf.validTo),
      };
      this.#current = cert;
      this.#retryMs = RETRY_MIN_MS;
      this.#renewalRefused = false;
      stats.inc('tls.workload_cert.issued');
      if (renewal) stats.inc('tls.workload_cert.rotations');
      logger.info(
        { spiffeId: uri, notAfter: leaf.validTo, how: 'token' in credential ? 'join token' : 'renewal' },
        renewal ? 'workload certificate rotated' : 'workload certificate issued',
      );
      this.#first.resolve(cert);
      for (const listener of this.#listeners) listener(cert);
      // Rotation at half of what is left of its life (Istio's rule: at half-life from issuance).
      this.#arm(cert.notAfter - (cert.notAfter - this.#now()) / 2);
    } catch (err) {
      if (this.#stopped) return;
      stats.inc('tls.workload_cert.failures');
      if (renewal && (err as { unauthenticated?: boolean }).unauthenticated === true) this.#renewalRefused = true;
      logger.warn({ err: (err as Error).message, retryInMs: this.#retryMs }, 'workload certificate request failed');
      this.#arm(this.#now() + this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    }
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delay = Math.max(0, at - this.#now());
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (delay > MAX_TIMER_MS) this.#arm(at);
        else void this.#obtain();
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    // Until the first certificate this timer is all the process waits on (nothing else is open yet): it must keep
    // it alive, or a sidecar whose first request failed would exit instead of retrying.
    if (this.#current !== undefined) this.#timer.unref();
  }
}
