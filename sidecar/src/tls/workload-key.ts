// A workload's key pair, made in this process and never sent anywhere, and a PKCS#10 request for its certificate.
import { webcrypto } from 'node:crypto';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface WorkloadKey {
  /** The private key as PKCS#8 PEM (for node:tls secure contexts). */
  keyPem: string;
  /** A CSR for the key (named after the service; the CA decides the identity it grants). */
  csrPem: string;
}

function pem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`;
}

/** A fresh ECDSA P-256 key and its CSR (x509 is loaded on first use: only a sidecar with an identity needs it). */
export async function newWorkloadKey(service: string): Promise<WorkloadKey> {
  const { x509 } = await import('@trellis/identity/x509');
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: EC,
    name: [{ CN: [service] }],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: pem(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}
