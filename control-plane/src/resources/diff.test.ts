// Dry-run diffs: stable key order, no store stamps, unified hunks.
import { expect } from 'chai';
import { diffResources, resourceYaml, unifiedDiff } from './diff.ts';
import type { ServiceResource } from './types.ts';

const svc = (port: number, stamps = false): ServiceResource => ({
  spec: { ports: [{ protocol: 'HTTP', port, name: 'http' }] },
  metadata: stamps ? { generation: 4, name: 'orders', updatedAt: 'x' } : { name: 'orders' },
  kind: 'Service',
  apiVersion: 'trellis.dev/v1',
});

describe('resource diffs', () => {
  it('prints YAML in a stable key order without stamps', () => {
    expect(resourceYaml(svc(80, true))).to.equal(
      'apiVersion: trellis.dev/v1\nkind: Service\nmetadata:\n  name: orders\nspec:\n  ports:\n    - name: http\n      port: 80\n      protocol: HTTP\n',
    );
  });

  it('is empty for equal resources and shows changed lines otherwise', () => {
    expect(diffResources(svc(80, true), svc(80))).to.equal('');
    expect(diffResources(svc(80, true), svc(81))).to.equal(
      [
        '--- Service/orders (stored)',
        '+++ Service/orders (applied)',
        '@@ -5,5 +5,5 @@',
        ' spec:',
        '   ports:',
        '     - name: http',
        '-      port: 80',
        '+      port: 81',
        '       protocol: HTTP',
        '',
      ].join('\n'),
    );
  });

  it('diffs a new resource against /dev/null', () => {
    const diff = diffResources(undefined, svc(80));
    expect(diff.split('\n').slice(0, 3)).to.deep.equal([
      '--- /dev/null',
      '+++ Service/orders (applied)',
      '@@ -0,0 +1,9 @@',
    ]);
  });

  it('splits distant changes into separate hunks', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const b = a.map((l, i) => (i === 1 || i === 18 ? `${l}!` : l));
    const diff = unifiedDiff(a.join('\n'), b.join('\n'), 'a', 'b');
    expect(diff.match(/^@@ .* @@$/gm)).to.deep.equal(['@@ -1,5 +1,5 @@', '@@ -16,5 +16,5 @@']);
  });
});
