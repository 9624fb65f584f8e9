// The demo's resource files stay valid: every document of demo/config/*.yaml parses and passes the control plane's
// validation, as `trellisctl apply -f` would check it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseDocuments } from '../control-plane/src/resources/parse.ts';
import { validateResource } from '../control-plane/src/resources/validate/validate.ts';

const DIR = fileURLToPath(new URL('../demo/config/', import.meta.url));

describe('demo/config', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} parses and validates`, () => {
      const parsed = parseDocuments(readFileSync(path.join(DIR, file), 'utf8'));
      expect(parsed.errors).to.deep.equal([]);
      expect(parsed.documents.length).to.be.greaterThan(0);
      for (const doc of parsed.documents) {
        expect(
          validateResource(doc.value, `document ${doc.index}`).errors,
          `${file} document ${doc.index}`,
        ).to.deep.equal([]);
      }
    });
  }
});
