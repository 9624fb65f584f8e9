// PeerAuthentication validation: an optional service selector and the mode, each error with its field path; and at
// most one per scope across the resources.
import { expect } from 'chai';
import { checkReferences } from '../references.ts';
import type { PeerAuthenticationResource } from '../types.ts';
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function errors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'PeerAuthentication', metadata: { name: 'web' }, spec };
  const prefix = 'document 1 (PeerAuthentication web): ';
  const result = validateResource(doc, 'document 1');
  for (const e of result.errors) expect(e.startsWith(prefix), e).to.equal(true);
  return result.errors.map((e) => e.slice(prefix.length));
}

const pa = (
  name: string,
  service: string | undefined,
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE',
): PeerAuthenticationResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'PeerAuthentication',
  metadata: { name },
  spec: { ...(service === undefined ? {} : { selector: { service } }), mtls: { mode } },
});

describe('validate PeerAuthentication', () => {
  it('accepts a mode mesh-wide or for one service; refuses anything else by field', () => {
    expectErrors(errors, [
      [{ mtls: { mode: 'STRICT' } }, []],
      [{ selector: { service: 'web' }, mtls: { mode: 'DISABLE' } }, []],
      [{}, ['spec.mtls: required, expected { mode: STRICT|PERMISSIVE|DISABLE }']],
      [{ mtls: { mode: 'strict' } }, ['spec.mtls.mode: expected STRICT|PERMISSIVE|DISABLE, got "strict"']],
      [{ mtls: {} }, ['spec.mtls.mode: required, expected STRICT|PERMISSIVE|DISABLE']],
      [
        { selector: { service: 'Web_1' }, mtls: { mode: 'STRICT' } },
        [
          'spec.selector.service: expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters), got "Web_1"',
        ],
      ],
    ]);
  });

  it('at most one per scope', () => {
    expect(
      checkReferences([pa('a', undefined, 'STRICT'), pa('b', undefined, 'PERMISSIVE'), pa('c', 'web', 'DISABLE')]),
    ).to.deep.equal([
      'PeerAuthentication b: spec.selector: the mesh already has PeerAuthentication a (at most one per scope)',
    ]);
  });
});
