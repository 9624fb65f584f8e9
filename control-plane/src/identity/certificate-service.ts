// The certificate signing service on the xDS port (IstioCertificateService/CreateCertificate): a CSR is signed for the
// identity its caller proves, with a join token (`authorization: Bearer …`, a first certificate) or with the
// certificate it holds (a renewal: that certificate and the CSR signed by its key); never for what the CSR asks.
import { verify as verifySignature, X509Certificate } from 'node:crypto';
import { type Metadata, type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import type { CertificateRequest, CertificateResponse, WorkloadIdentity } from '@trellis/identity';
import type { Logger } from 'pino';
import { LogLimiter } from '../common/log-limiter.ts';
import type { JoinTokens } from './join-tokens.ts';
import type { MeshCa } from './mesh-ca.ts';

/** Renewal headers: the certificate held (base64 DER) and the CSR's PEM text signed by its key (base64). */
export const RENEW_CERT_HEADER = 'x-trellis-renew-cert';
export const RENEW_SIGNATURE_HEADER = 'x-trellis-renew-signature';
/** Signing requests handled at once; more are refused with RESOURCE_EXHAUSTED (a flood costs CPU, not the CA). */
const MAX_CONCURRENT = 64;

class Refused extends Error {
  readonly code: status;

  constructor(code: status, message: string) {
    super(message);
    this.code = code;
  }
}

function header(md: Metadata, name: string): string | undefined {
  const v = md.get(name)[0];
  return typeof v === 'string' ? v : undefined;
}

export interface CertificateServiceDeps {
  ca: MeshCa;
  tokens: JoinTokens;
  logger: Logger;
  /** Counts issued certificates and refusals (the control plane's metrics). */
  onResult?: (result: 'issued' | 'refused', how: 'token' | 'renewal' | 'none') => void;
}

/** The CreateCertificate handler for grpc-js. */
export function certificateService(deps: CertificateServiceDeps): {
  CreateCertificate: (
    call: ServerUnaryCall<CertificateRequest, CertificateResponse>,
    callback: sendUnaryData<CertificateResponse>,
  ) => void;
} {
  const { ca, tokens, logger } = deps;
  const warnings = new LogLimiter();
  let active = 0;

  /** Who the caller is: the join token's identity, else the renewing certificate's; throws Refused. */
  function authenticate(call: ServerUnaryCall<CertificateRequest, CertificateResponse>): {
    identity: WorkloadIdentity;
    how: 'token' | 'renewal';
  } {
    const md = call.metadata;
    const auth = header(md, 'authorization');
    if (auth !== undefined) {
      const token = /^Bearer (.+)$/i.exec(auth)?.[1];
      if (token === undefined)
        throw new Refused(status.UNAUTHENTICATED, 'authorization: expected "Bearer <join token>"');
      const claims = tokens.verify(token);
      if ('refused' in claims) throw new Refused(status.UNAUTHENTICATED, claims.refused);
      const identity = {
        trustDomain: ca.trustDomain,
        namespace: claims.namespace,
        serviceAccount: claims.serviceAccount,
      };
      return { identity, how: 'token' };
    }
    const certB64 = header(md, RENEW_CERT_HEADER);
    const sigB64 = header(md, RENEW_SIGNATURE_HEADER);
    if (certB64 === undefined || sigB64 === undefined)
      throw new Refused(
        status.UNAUTHENTICATED,
        `no credentials: send a join token (authorization: Bearer …) or, to renew, ${RENEW_CERT_HEADER} and ${RENEW_SIGNATURE_HEADER}`,
      );
    let held: X509Certificate;
    try {
      held = new X509Certificate(Buffer.from(certB64, 'base64'));
    } catch {
      throw new Refused(status.UNAUTHENTICATED, `${RENEW_CERT_HEADER}: not a DER certificate`);
    }
    const identity = ca.verifyIssued(held);
    if (typeof identity === 'string') throw new Refused(status.UNAUTHENTICATED, `${RENEW_CERT_HEADER}: ${identity}`);
    const signed = verifySignature(
      'sha256',
      Buffer.from(call.request.csr),
      held.publicKey,
      Buffer.from(sigB64, 'base64'),
    );
    if (!signed)
      throw new Refused(status.UNAUTHENTICATED, `${RENEW_SIGNATURE_HEADER}: the CSR is not signed by the held key`);
    return { identity, how: 'renewal' };
  }

  return {
    CreateCertificate(call, callback) {
      const peer = call.getPeer();
      if (active >= MAX_CONCURRENT) {
        callback({ code: status.RESOURCE_EXHAUSTED, details: 'too many certificate requests at once; retry' });
        return;
      }
      let who: ReturnType<typeof authenticate>;
      try {
        who = authenticate(call);
      } catch (err) {
        const refused = err as Refused;
        deps.onResult?.('refused', 'none');
        warnings.warn(logger, { peer, reason: refused.message }, 'certificate request refused');
        callback({ code: refused.code, details: refused.message });
        return;
      }
      active++;
      ca.sign(call.request.csr, who.identity, call.request.validityDuration).then(
        (issued) => {
          active--;
          deps.onResult?.('issued', who.how);
          logger.info(
            { peer, spiffeId: issued.spiffeId, notAfter: issued.notAfter.toISOString(), how: who.how },
            'workload certificate issued',
          );
          callback(null, { certChain: issued.chain });
        },
        (err: Error) => {
          active--;
          deps.onResult?.('refused', who.how);
          callback({ code: status.INVALID_ARGUMENT, details: err.message });
        },
      );
    },
  };
}
