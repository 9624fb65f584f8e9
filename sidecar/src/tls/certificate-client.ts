// Asks the mesh CA (IstioCertificateService on the control plane's xDS port) for a certificate: with a join token, or
// renewing with the certificate held (its DER and the new CSR signed by its key); tries each xDS address in turn, over
// TLS to the control plane (control-plane-trust.ts).
import { sign } from 'node:crypto';
import { type ChannelCredentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type CertificateResponse, CertificateServiceClient, CONTROL_PLANE_TLS_NAME } from '@trellis/identity';

/** How the request proves who asks. */
export type CertificateCredential = { token: string } | { heldCertDer: Buffer; heldKeyPem: string };

const DEADLINE_MS = 10_000;

interface CreateCertificate {
  CreateCertificate(
    req: { csr: string; validityDuration: number },
    md: Metadata,
    options: { deadline: number },
    cb: (err: ServiceError | null, res?: CertificateResponse) => void,
  ): void;
}

function metadataFor(csrPem: string, credential: CertificateCredential): Metadata {
  const md = new Metadata();
  if ('token' in credential) md.set('authorization', `Bearer ${credential.token}`);
  else {
    md.set('x-trellis-renew-cert', credential.heldCertDer.toString('base64'));
    md.set('x-trellis-renew-signature', sign('sha256', Buffer.from(csrPem), credential.heldKeyPem).toString('base64'));
  }
  return md;
}

function once(
  address: string,
  channel: ChannelCredentials,
  csrPem: string,
  ttlSeconds: number,
  md: Metadata,
): Promise<string[]> {
  const client = new CertificateServiceClient(address, channel, {
    'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME,
  });
  return new Promise<string[]>((resolve, reject) => {
    (client as unknown as CreateCertificate).CreateCertificate(
      { csr: csrPem, validityDuration: ttlSeconds },
      md,
      { deadline: Date.now() + DEADLINE_MS },
      (err, res) => {
        client.close();
        if (err)
          reject(
            Object.assign(new Error(`${address}: ${err.details || err.message}`), {
              unauthenticated: err.code === status.UNAUTHENTICATED,
            }),
          );
        else if (res === undefined || res.certChain.length === 0) reject(new Error(`${address}: an empty chain`));
        else resolve(res.certChain);
      },
    );
  });
}

/** The chain (leaf first) from the first address that answers; the errors of all when none does. */
export async function requestCertificate(
  addresses: readonly string[],
  channel: ChannelCredentials,
  csrPem: string,
  ttlSeconds: number,
  credential: CertificateCredential,
): Promise<string[]> {
  const errors: string[] = [];
  let unauthenticated = false;
  for (const address of addresses) {
    try {
      return await once(address, channel, csrPem, ttlSeconds, metadataFor(csrPem, credential));
    } catch (err) {
      errors.push((err as Error).message);
      if ((err as { unauthenticated?: boolean }).unauthenticated === true) unauthenticated = true;
    }
  }
  throw Object.assign(new Error(errors.join('; ')), { unauthenticated });
}
