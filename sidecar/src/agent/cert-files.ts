// The workload certificate as files for gRPC's file_watcher certificate provider (proxyless gRPC, gRFC A29): the
// chain, the key (mode 0600) and the trust bundle, each replaced atomically (written beside it, then renamed) so a
// reader never sees half a file; rewritten on every rotation.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** File names in the directory, as Istio's agent writes them for proxyless gRPC. */
export const CERT_FILES = {
  chain: 'cert-chain.pem',
  key: 'key.pem',
  roots: 'root-cert.pem',
} as const;

/**
 * Writes a fresh, unguessable temporary file (created exclusively: a file or symlink planted under that name makes it
 * fail instead of writing through it), then renames it over `file`.
 */
function replace(file: string, text: string, mode: number): void {
  const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  renameSync(tmp, file);
}

/** Writes the three files into dir (created 0700 if missing); the key is the owner's alone. */
export function writeCertFiles(
  dir: string,
  files: { chainPem: readonly string[]; keyPem: string; rootsPem: string },
): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Roots first, key and chain last: a reader that sees the new chain sees its key too (file_watcher reads both).
  replace(path.join(dir, CERT_FILES.roots), files.rootsPem, 0o644);
  replace(path.join(dir, CERT_FILES.key), files.keyPem, 0o600);
  replace(path.join(dir, CERT_FILES.chain), files.chainPem.join('\n'), 0o644);
}
