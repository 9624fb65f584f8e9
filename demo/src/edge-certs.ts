// docker-compose's edge-certs job: a CA and a localhost certificate for the edge gateway, into the directory given
// (a volume the gateway mounts read-only): `node demo/src/edge-certs.ts /certs`. Demo only.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeEdgeCertificates } from './gateway.ts';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node demo/src/edge-certs.ts <dir>\n');
  process.exit(2);
}
/** Days left on the certificate in `dir`; 0 when there is none (or it cannot be read). */
function daysLeft(): number {
  try {
    const cert = new X509Certificate(readFileSync(path.join(dir as string, 'localhost.crt')));
    return (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  } catch {
    return 0;
  }
}
// Kept across restarts (a client that trusted the CA keeps trusting it) while it has a week left; renewed after.
if (existsSync(path.join(dir, 'localhost.key')) && daysLeft() > 7) {
  process.stdout.write(`${dir}: certificates already there\n`);
} else {
  const files = await makeEdgeCertificates(dir, 30, 0o644);
  process.stdout.write(`${files.caFile}, ${files.certFile}, ${files.keyFile}\n`);
}
