// The control plane's own certificate for its xDS TLS port: a key made here, issued by the mesh CA for the control
// plane's SPIFFE id, re-issued at half-life, and handed to grpc-js through a certificate provider (new connections
// take the newest one).
import { CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_SERVICE_ACCOUNT, MemoryCertificateProvider } from '@trellis/identity';
import type { Logger } from 'pino';
import type { MeshCa } from './mesh-ca.ts';

/** The serving certificate's lifetime: a day, as workloads', so a leaked key is worth a day at most. */
export const SERVING_TTL_MS = 24 * 3600_000;
const RETRY_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ServingCertificate {
  /** Trust bundle (to verify client certificates) and the serving key and chain, for grpc-js. */
  readonly provider = new MemoryCertificateProvider();
  readonly #ca: MeshCa;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #notAfter = 0;

  private constructor(ca: MeshCa, logger: Logger, ttlMs: number) {
    this.#ca = ca;
    this.#logger = logger;
    this.#ttlMs = ttlMs;
  }

  /** Issues the first certificate; later ones follow at half-life until close(). */
  static async start(ca: MeshCa, logger: Logger, ttlMs = SERVING_TTL_MS): Promise<ServingCertificate> {
    const serving = new ServingCertificate(ca, logger, ttlMs);
    serving.provider.setTrustBundle(ca.trustBundle);
    await serving.#issue();
    return serving;
  }

  /** When the certificate in force expires (ms since the epoch). */
  get notAfter(): number {
    return this.#notAfter;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #issue(): Promise<void> {
    const identity = {
      trustDomain: this.#ca.trustDomain,
      namespace: CONTROL_PLANE_NAMESPACE,
      serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT,
    };
    const issued = await this.#ca.issueWithKey(identity, this.#ttlMs);
    this.provider.setIdentity(issued.keyPem, issued.chain);
    this.#notAfter = issued.notAfter.getTime();
    this.#logger.info({ notAfter: issued.notAfter.toISOString() }, 'xDS serving certificate issued');
    // At least a minute apart: near the CA's own expiry the half-life shrinks towards nothing.
    this.#arm(Math.max(60_000, (this.#notAfter - Date.now()) / 2));
  }

  #arm(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(
      () => {
        this.#issue().catch((err: unknown) => {
          this.#logger.error({ err }, 'renewing the xDS serving certificate failed; retrying');
          this.#arm(RETRY_MS);
        });
      },
      Math.min(delayMs, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }
}
