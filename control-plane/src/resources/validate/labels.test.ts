// Label bounds as Kubernetes sets them, on metadata.labels, static endpoint labels and subset selectors.
import { expect } from 'chai';
import { labelKeyProblem, labelValueProblem } from './labels.ts';
import { expectErrors, policyErrors } from './testing.ts';
import { validateResource } from './validate.ts';

const a = (n: number) => 'a'.repeat(n);

/** The errors of Service orders with these metadata labels, minus the document prefix. */
function metadataLabelErrors(labels: unknown): string[] {
  const doc = {
    apiVersion: 'trellis.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', labels },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  };
  return validateResource(doc, 'document 1').errors.map((e) => e.replace('document 1 (Service orders): ', ''));
}

describe('validate labels', () => {
  it('accepts Kubernetes label keys and values', () => {
    for (const key of ['version', 'app.kubernetes.io/name', 'a', 'A_b-c.d', `${a(253)}/${a(63)}`, `x.y/${a(63)}`]) {
      expect(labelKeyProblem(key), key).to.equal(undefined);
    }
    for (const value of ['', 'v1', 'A_b-c.d', a(63)]) expect(labelValueProblem(value), value).to.equal(undefined);
  });

  it('rejects keys and values past the bounds or outside the alphabet', () => {
    for (const key of ['', '/x', 'a/', 'a/b/c', '-a', 'a-', 'a b', a(64), `${a(254)}/x`, 'Upper.Case/x', 'é']) {
      expect(labelKeyProblem(key), JSON.stringify(key)).to.be.a('string');
    }
    for (const value of [a(64), '-v', 'v.', 'a b', 'é', 5]) {
      expect(labelValueProblem(value), JSON.stringify(value)).to.be.a('string');
    }
  });

  it('names the label in every error, shortening what is long', () => {
    expectErrors(metadataLabelErrors, [
      [{ team: 'shop', 'app.kubernetes.io/name': 'orders' }, []],
      [
        { version: a(64) },
        [
          `metadata.labels.version: expected a label value of at most 63 characters (letters, digits, "-", "_" or ".", starting and ending with a letter or digit), or empty, got "${a(57)}..." (64 characters)`,
        ],
      ],
      [
        { [a(3000)]: 'v' },
        [
          `metadata.labels["${a(57)}..."]: expected a label key name of at most 63 characters (letters, digits, "-", "_" or ".", starting and ending with a letter or digit), got "${a(57)}..." (3000 characters)`,
        ],
      ],
      [
        { 'Example.com/x': 'v', 'a/b/c': 'v' },
        [
          'metadata.labels["Example.com/x"]: expected a label key prefix (before "/") that is a DNS subdomain of at most 253 characters (lowercase letters, digits, "-" and "."), got "Example.com"',
          'metadata.labels["a/b/c"]: expected a label key with at most one "/", got "a/b/c"',
        ],
      ],
      [{ n: 2 }, ['metadata.labels.n: expected a string, got 2']],
    ]);
  });

  it('bounds endpoint labels and subset selectors too', () => {
    const svc = {
      apiVersion: 'trellis.dev/v1',
      kind: 'Service',
      metadata: { name: 'orders' },
      spec: {
        ports: [{ name: 'http', port: 80, protocol: 'HTTP' }],
        endpoints: [{ address: '10.0.0.1', port: 80, labels: { version: 'v 1' } }],
      },
    };
    expect(validateResource(svc, 'document 1').errors).to.deep.equal([
      'document 1 (Service orders): spec.endpoints[0].labels.version: expected a label value of at most 63 characters (letters, digits, "-", "_" or ".", starting and ending with a letter or digit), or empty, got "v 1"',
    ]);
    expect(policyErrors({ subsets: [{ name: 'v1', labels: { 'bad key': 'v1' } }] })).to.deep.equal([
      'spec.subsets[0].labels["bad key"]: expected a label key name of at most 63 characters (letters, digits, "-", "_" or ".", starting and ending with a letter or digit), got "bad key"',
    ]);
  });
});
