// Self-signed certificates for tests (ECDSA P-256, an hour either side of now): a server's, a CA's.
import { webcrypto } from 'node:crypto';
import { type KeyPair, x509 } from '@trellis/identity/x509';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** PEM certificate and PKCS#8 key for `CN=<cn>`, with a DNS and/or IP SAN; a CA (basic constraints) when asked. */
export async function selfSignedCertificate(
  cn: string,
  opts: { dns?: string; ip?: string; ca?: boolean } = {},
): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const names = [
    ...(opts.dns === undefined ? [] : [{ type: 'dns' as const, value: opts.dns }]),
    ...(opts.ip === undefined ? [] : [{ type: 'ip' as const, value: opts.ip }]),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    extensions: [
      ...(opts.ca === true ? [new x509.BasicConstraintsExtension(true, undefined, true)] : []),
      ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem'), key };
}
