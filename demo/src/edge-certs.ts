// docker-compose's edge-certs job: a CA and a localhost certificate for the edge gateway, into the directory given
// (a volume the gateway mounts read-only): `node demo/src/edge-certs.ts /certs`. Demo only.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeEdgeCertificates } from './gateway.ts';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node demo/src/edge-certs.ts <dir>\n');
  process.exit(2);
}
// Kept across restarts: a browser or curl that trusted the CA keeps trusting it.
if (existsSync(path.join(dir, 'localhost.key'))) {
  process.stdout.write(`${dir}: certificates already there\n`);
} else {
  const files = await makeEdgeCertificates(dir, 30, 0o644);
  process.stdout.write(`${files.caFile}, ${files.certFile}, ${files.keyFile}\n`);
}
