// Path preparation as Envoy's HCM does it: escaped slashes (each action), RFC 3986 normalization, merged slashes.
import { expect } from 'chai';
import type { EscapedSlashesAction, PathNormalization } from '../../config/model.ts';
import { normalizeRequestPath, PATH_OK, PATH_REDIRECT, PATH_REJECT, type PathVerdict } from './path-normalization.ts';

const SAFE: PathNormalization = { normalizePath: true, mergeSlashes: true, escapedSlashes: 'keep-unchanged' };

function prepare(path: string, options: Partial<PathNormalization> = {}): [string, PathVerdict] {
  const target = { path };
  const verdict = normalizeRequestPath(target, { ...SAFE, ...options });
  return [target.path, verdict];
}

describe('path normalization', () => {
  it('leaves ordinary paths alone (same string, no work)', () => {
    for (const path of ['/', '/a/b.txt', '/a/.well-known/x', '/a/b..c', '/v1/users/42/', '/a.b/..c/.d']) {
      const target = { path };
      expect(normalizeRequestPath(target, SAFE)).to.equal(PATH_OK);
      expect(target.path).to.equal(path);
    }
  });

  it('normalize_path: dot segments (RFC 3986 §5.2.4), also percent-encoded, never above the root', () => {
    const cases: [string, string][] = [
      ['/a/../b', '/b'],
      ['/a/./b', '/a/b'],
      ['/a/%2e%2e/b', '/b'],
      ['/a/%2E%2e/b', '/b'],
      ['/a/.%2e/b', '/b'],
      ['/a/%2e/b', '/a/b'],
      ['/../../etc/passwd', '/etc/passwd'],
      ['/a/b/..', '/a/'],
      ['/a/b/.', '/a/b/'],
      ['/a/..', '/'],
      ['/..', '/'],
      ['/.', '/'],
      ['/a\\..\\admin', '/admin'],
    ];
    for (const [input, output] of cases)
      expect(prepare(input, { mergeSlashes: false }), input).to.deep.equal([output, 0]);
  });

  it('normalize_path: unreserved characters decoded, other encodings upper-cased, stray % kept', () => {
    expect(prepare('/%41%62c%2D%5f%7E')).to.deep.equal(['/Abc-_~', PATH_OK]);
    expect(prepare('/a%2fb%3a%20')).to.deep.equal(['/a%2Fb%3A%20', PATH_OK]);
    expect(prepare('/100%/x%zz')).to.deep.equal(['/100%/x%zz', PATH_OK]);
    // One decoding only: %252e is an encoded '%' followed by "2e", not a dot.
    expect(prepare('/a/%252e%252e/b')).to.deep.equal(['/a/%252e%252e/b', PATH_OK]);
  });

  it('merge_slashes: runs of / become one, after dot segments are resolved', () => {
    expect(prepare('//admin')).to.deep.equal(['/admin', PATH_OK]);
    expect(prepare('/a///b//')).to.deep.equal(['/a/b/', PATH_OK]);
    expect(prepare('/a//../b')).to.deep.equal(['/a/b', PATH_OK]);
    expect(prepare('//admin', { mergeSlashes: false })).to.deep.equal(['//admin', PATH_OK]);
  });

  it('path_with_escaped_slashes_action, for %2F and %5C in any case', () => {
    const act = (path: string, escapedSlashes: EscapedSlashesAction) => prepare(path, { escapedSlashes });
    expect(act('/a%2Fb', 'keep-unchanged')).to.deep.equal(['/a%2Fb', PATH_OK]);
    expect(act('/a%2fb', 'keep-unchanged')).to.deep.equal(['/a%2Fb', PATH_OK]);
    expect(act('/a%2Fb', 'reject-request')[1]).to.equal(PATH_REJECT);
    expect(act('/a%5cb', 'reject-request')[1]).to.equal(PATH_REJECT);
    expect(act('/a%2Fb', 'unescape-and-redirect')).to.deep.equal(['/a/b', PATH_REDIRECT]);
    expect(act('/a%2Fb', 'unescape-and-forward')).to.deep.equal(['/a/b', PATH_OK]);
    // Unescaped slashes take part in normalization: no traversal hides behind an encoding.
    expect(act('/public%2F..%2Fadmin', 'unescape-and-forward')).to.deep.equal(['/admin', PATH_OK]);
    expect(act('/public%5C..%5Cadmin', 'unescape-and-redirect')).to.deep.equal(['/admin', PATH_REDIRECT]);
    expect(act('/public%2F..%2Fadmin', 'keep-unchanged')).to.deep.equal(['/public%2F..%2Fadmin', PATH_OK]);
    // Nothing escaped: no redirect, whatever else changed.
    expect(act('/a/../b', 'unescape-and-redirect')).to.deep.equal(['/b', PATH_OK]);
    expect(act('/a%2Fb', 'reject-request')).to.deep.equal(['/a%2Fb', PATH_REJECT]);
  });

  it('everything off: nothing changes', () => {
    const off: Partial<PathNormalization> = {
      normalizePath: false,
      mergeSlashes: false,
      escapedSlashes: 'keep-unchanged',
    };
    for (const path of ['/a/../b', '//admin', '/a%2Fb', '/a\\b']) expect(prepare(path, off)).to.deep.equal([path, 0]);
  });

  it('leaves "*" and non-origin paths alone', () => {
    expect(prepare('*')).to.deep.equal(['*', PATH_OK]);
  });
});
