// A workload certificate as the admin's /certs shows it (Envoy's /certs fields), never its key.
import { X509Certificate } from 'node:crypto';
import type { WorkloadCertificate } from './workload-identity.ts';

export interface CertificateInfo {
  spiffe_id: string;
  serial_number: string;
  valid_from: string;
  expiration_time: string;
  seconds_until_expiration: number;
  chain_length: number;
}

export function certificateInfo(cert: WorkloadCertificate | undefined, now = Date.now()): CertificateInfo[] {
  if (cert === undefined) return [];
  const leaf = new X509Certificate(cert.chainPem[0] as string);
  return [
    {
      spiffe_id: cert.spiffeId,
      serial_number: leaf.serialNumber.toLowerCase(),
      valid_from: new Date(cert.notBefore).toISOString(),
      expiration_time: new Date(cert.notAfter).toISOString(),
      seconds_until_expiration: Math.max(0, Math.floor((cert.notAfter - now) / 1000)),
      chain_length: cert.chainPem.length,
    },
  ];
}
