// RE2 patterns from configuration: RE2's syntax (accepted and refused), full-match semantics, linear time on
// patterns that make a backtracking engine take exponential time, and RE2::GlobalReplace rewrites.
import { expect } from 'chai';
import { compileRe2, mustCompileRe2, REWRITE_SCAN_FACTOR } from './re2.ts';
import { compileRe2Rewrite } from './rewrite.ts';

function refusal(pattern: string): string {
  const r = compileRe2(pattern);
  if (!('error' in r)) throw new Error(`${pattern} compiled`);
  return r.error;
}

function replaceAll(pattern: string, substitution: string, input: string): string | undefined {
  const regex = mustCompileRe2(pattern);
  const rw = compileRe2Rewrite(substitution, regex);
  if ('error' in rw) throw new Error(rw.error);
  return regex.replaceAll(input, rw.rewrite);
}

describe('RE2 regexes from configuration', () => {
  describe('syntax and full-match semantics', () => {
    const matches: [string, string, boolean][] = [
      ['/api/v[0-9]+/.*', '/api/v2/orders', true],
      ['/api/v[0-9]+/.*', 'x/api/v2/orders', false],
      ['(.*[;,]\\s*)?session=abc(\\s*[;,].*)?', 'a=1; session=abc', true],
      ['GET|POST', 'POST', true],
      ['GET|POST', 'POSTS', false],
      ['(?i)orders', 'ORDERS', true],
      ['(?i:ab)c', 'ABc', true],
      ['(?i:ab)c', 'ABC', false],
      ['a(?i)b', 'aB', true],
      ['(?P<id>\\d+)', '42', true],
      ['(?<id>\\d+)', '42', true],
      ['[[:digit:]]+-[[:alpha:]]', '12-x', true],
      ['[[:^alpha:]]+', '12', true],
      ['[]a]+', ']a]', true],
      ['\\Q.*+\\E', '.*+', true],
      ['\\Q.*+\\E', 'abc', false],
      ['a\\-b\\:c', 'a-b:c', true],
      ['x{2,3}', 'xxx', true],
      ['\\pL+', 'héllo', true],
      ['\\p{Greek}+', 'αβγ', true],
      ['\\x{41}', 'A', true],
      ['.', '😀', true],
      ['a{,2}', 'a{,2}', true],
      ['abc\\z', 'abc', true],
      ['\\Aabc', 'abc', true],
      ['(?m)a', 'a\nb', false],
      ['(?s)a.b', 'a\nb', true],
      ['a.b', 'a\nb', false],
      ['((ab)+c){2}', 'ababcabc', true],
      ['(a+)?b', 'aab', true],
      ['^/(a+)+$', '/aaa', true],
      ['', '', true],
    ];
    for (const [pattern, input, expected] of matches) {
      it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(input)} as a whole`, () => {
        expect(mustCompileRe2(pattern).fullMatch(input)).to.equal(expected);
      });
    }

    const refused: [string, RegExp][] = [
      ['a(?=b)', /`\(\?=` \(lookahead is not supported by RE2\)/],
      ['a(?!b)', /lookahead is not supported/],
      ['(?<=a)b', /lookbehind is not supported/],
      ['(?<!a)b', /lookbehind is not supported/],
      ['(a)\\1', /invalid escape sequence: `\\1` \(backreferences are not supported by RE2\)/],
      ['(?<n>a)\\k<n>', /backreferences/],
      ['(?P<n>a)(?P=n)', /no \(\?P=name\) backreferences/],
      ['(?>a)', /atomic groups/],
      ['a*+', /invalid nested repetition operator: `\*\+`/],
      ['a**', /invalid nested repetition operator/],
      ['a{1001}', /invalid repeat count: `\{1001\}`/],
      ['(a{100}){100}', /invalid repeat count/],
      ['[a', /missing closing \]: `\[a`/],
      ['a(', /missing closing \)/],
      ['a)', /unexpected \)/],
      ['[[:nope:]]', /invalid character class range/],
      ['\\8', /invalid escape sequence/],
      ['\\Z', /invalid escape sequence/],
      ['(?#comment)', /invalid or unsupported Perl syntax/],
    ];
    for (const [pattern, error] of refused) {
      it(`refuses ${pattern} as RE2 does`, () => {
        expect(refusal(pattern)).to.match(error);
      });
    }

    it('partial matches search the input', () => {
      expect(mustCompileRe2('b+').partialMatch('abbc')).to.equal(true);
      expect(mustCompileRe2('^b').partialMatch('abc')).to.equal(false);
    });

    it('serializes as its source in config dumps', () => {
      expect(JSON.stringify({ regex: mustCompileRe2('/v[0-9]+') })).to.equal('{"regex":"/v[0-9]+"}');
    });
  });

  describe('linear time', () => {
    // Inputs long enough that a backtracking engine would run for longer than the universe has existed: these tests
    // only have to finish within mocha's timeout.
    const n = 100_000;
    const cases: [string, string, boolean][] = [
      ['^/(a|a)*$', `/${'a'.repeat(n)}!`, false],
      ['^/(a|a)*$', `/${'a'.repeat(n)}`, true],
      ['(a+)+$', `${'a'.repeat(n)}!`, false],
      ['(x+x+)+y', 'x'.repeat(n), false],
      ['(\\w+\\s?)*$', `${'word '.repeat(n / 5)}!`, false],
      ['(.*a){20}', 'a'.repeat(n), true],
      ['(a|aa)*b', 'a'.repeat(n), false],
      ['(?:a|b)*a(?:a|b){20}c', 'ab'.repeat(n / 2), false],
    ];
    for (const [pattern, input, expected] of cases) {
      it(`${pattern} over ${input.length} characters`, () => {
        const re = mustCompileRe2(pattern);
        expect(re.fullMatch(input)).to.equal(expected);
        re.partialMatch(input);
      });
    }

    it('rewrites a long input with an ambiguous pattern', () => {
      const out = replaceAll('(a|a)*b', 'x', 'a'.repeat(n));
      expect(out).to.equal('a'.repeat(n));
      expect(replaceAll('(a+)+', '<\\0>', `${'a'.repeat(n)}!`)).to.equal(`<${'a'.repeat(n)}>!`);
    });

    it('bounds the searches of one rewrite: reading to the end for every match gives up (undefined), never half done', () => {
      // Each match of a(.*c)? is one 'a', found only after reading to the end: n searches of n characters.
      expect(replaceAll('a(.*c)?', 'x', 'a'.repeat(n))).to.equal(undefined);
      // Up to REWRITE_SCAN_FACTOR matches of a long input always fit.
      const few = `${'a'.repeat(REWRITE_SCAN_FACTOR)}${'b'.repeat(n)}`;
      expect(replaceAll('a(.*c)?', 'x', few)).to.equal(`${'x'.repeat(REWRITE_SCAN_FACTOR)}${'b'.repeat(n)}`);
    });

    it('never cuts short a rewrite of an input up to 512 characters, whatever its matches', () => {
      expect(replaceAll('a(.*c)?', 'x', 'a'.repeat(512))).to.equal('x'.repeat(512));
      expect(replaceAll('x*', '-', 'a'.repeat(512))).to.equal(`-${'a-'.repeat(512)}`);
      expect(replaceAll('/+', '/', '//a'.repeat(170))).to.equal('/a'.repeat(170));
    });
  });

  describe('replaceAll (RE2::GlobalReplace)', () => {
    it('replaces every match with groups, \\0 and escaped backslashes', () => {
      expect(replaceAll('^/v(\\d)/(.*)$', '/\\2?v=\\1', '/v1/orders')).to.equal('/orders?v=1');
      expect(replaceAll('/v(\\d+)/', '/version-\\1/', '/v1/a/v22/b')).to.equal('/version-1/a/version-22/b');
      expect(replaceAll('o', '[\\0] $5 \\\\', 'foo')).to.equal('f[o] $5 \\[o] $5 \\');
    });

    it('skips an empty match where the previous match ended, as RE2 does (not as JavaScript does)', () => {
      expect(replaceAll('a*', '-', 'baaac')).to.equal('-b-c-');
      expect('baaac'.replace(/a*/g, '-')).to.equal('-b--c-');
      expect(replaceAll('x*', '-', '😀a')).to.equal('-😀-a-');
    });

    it('leaves input without a match as it is, and an unmatched group empty', () => {
      expect(replaceAll('z', 'y', '/orders')).to.equal('/orders');
      expect(replaceAll('/(a)?(b)', '[\\1\\2]', '/b')).to.equal('[b]');
    });
  });
});
