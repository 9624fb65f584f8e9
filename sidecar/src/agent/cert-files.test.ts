// trellis-agent's certificate files: the three files gRPC's file_watcher reads, the key the owner's alone, replaced
// whole on a rotation (no temporary file left behind).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CERT_FILES, writeCertFiles } from './cert-files.ts';

describe('agent certificate files', () => {
  it('writes chain, key (0600) and roots into a new directory (0700), and replaces them on rotation', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'trellis-certs-'));
    const dir = path.join(base, 'certs');
    try {
      writeCertFiles(dir, { chainPem: ['LEAF', 'INTER'], keyPem: 'KEY1', rootsPem: 'ROOT' });
      expect(statSync(dir).mode & 0o777).to.equal(0o700);
      expect(statSync(path.join(dir, CERT_FILES.key)).mode & 0o777).to.equal(0o600);
      expect(readFileSync(path.join(dir, CERT_FILES.chain), 'utf8')).to.equal('LEAF\nINTER');
      expect(readFileSync(path.join(dir, CERT_FILES.roots), 'utf8')).to.equal('ROOT');
      writeCertFiles(dir, { chainPem: ['LEAF2'], keyPem: 'KEY2', rootsPem: 'ROOT' });
      expect(readFileSync(path.join(dir, CERT_FILES.key), 'utf8')).to.equal('KEY2');
      expect(readFileSync(path.join(dir, CERT_FILES.chain), 'utf8')).to.equal('LEAF2');
      expect(readdirSync(dir).sort()).to.deep.equal(Object.values(CERT_FILES).sort());
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
