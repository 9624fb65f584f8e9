// RE2 → JS regex translation: what RE2 accepts compiles (with RE2 meaning), what it rejects is rejected.
import { expect } from 'chai';
import { compileRe2, re2Substitution } from './re2-regex.ts';

function compile(pattern: string): RegExp {
  const r = compileRe2(pattern);
  if ('error' in r) throw new Error(r.error);
  return r.regex;
}

function full(pattern: string, input: string): boolean {
  const re = compile(pattern);
  return new RegExp(`^(?:${re.source})$`, re.flags).test(input);
}

describe('compileRe2', () => {
  const matches: [string, string, boolean][] = [
    ['/api/v[0-9]+/.*', '/api/v2/orders', true],
    ['(.*[;,]\\s*)?session=abc(\\s*[;,].*)?', 'a=1; session=abc', true],
    ['GET|POST', 'POST', true],
    ['(?i)orders', 'ORDERS', true],
    ['(?i:ab)c', 'ABc', true],
    ['(?i:ab)c', 'ABC', false],
    ['(?P<id>\\d+)', '42', true],
    ['[[:digit:]]+-[[:alpha:]]', '12-x', true],
    ['[]a]+', ']a]', true],
    ['\\Q.*+\\E', '.*+', true],
    ['\\Q.*+\\E', 'abc', false],
    ['a\\-b\\:c', 'a-b:c', true],
    ['x{2,3}', 'xxx', true],
    ['\\pL+', 'héllo', true],
    ['\\x{41}', 'A', true],
    ['a{,2}', 'a{,2}', true],
    ['abc\\z', 'abc', true],
    ['(.*[;,]\\s*)?session=[^;,]*(\\s*[;,].*)?', 'session=1; b=2', true],
    ['((ab)+c){2}', 'ababcabc', true],
    ['(a+)?b', 'aab', true],
  ];
  for (const [pattern, input, expected] of matches) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(input)}`, () => {
      expect(full(pattern, input)).to.equal(expected);
    });
  }

  const rejected: [string, RegExp][] = [
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['(a)\\1', /backreferences/],
    ['(?<n>a)\\k<n>', /backreferences/],
    ['(?P<n>a)(?P=n)', /backreferences/],
    ['(?>a)', /atomic/],
    ['a*+', /bad repetition/],
    ['a**', /bad repetition/],
    ['a{1001}', /repetition count/],
    ['(?U)a', /unsupported flag/],
    ['a(?i)b', /inline flags/],
    ['[a', /missing \]/],
    ['a(', /missing \)/],
    ['[[:nope:]]', /invalid character class/],
    ['^/(a+)+$', /nested unbounded repetition/],
    ['(x*y)*', /nested unbounded repetition/],
    ['((ab)+c){2,}', /nested unbounded repetition/],
    ['(?:a|b+){1,100}', /nested unbounded repetition/],
    ['a)', /unmatched \)/],
  ];
  for (const [pattern, error] of rejected) {
    it(`rejects ${pattern}`, () => {
      const r = compileRe2(pattern);
      expect(r).to.have.property('error').that.matches(error);
    });
  }

  it('returns unanchored regexes without stateful flags', () => {
    const re = compile('b');
    expect(re.test('abc')).to.equal(true);
    expect(re.flags).to.not.match(/[gy]/);
  });

  it('rewrites RE2 substitutions to JS replacement syntax', () => {
    expect(re2Substitution('\\2/\\1')).to.equal('$2/$1');
    expect(re2Substitution('[\\0] costs $5 \\\\')).to.equal('[$&] costs $$5 \\');
    expect('/v1/orders'.replace(/^\/v(\d)\/(.*)$/g, re2Substitution('/\\2?v=\\1'))).to.equal('/orders?v=1');
  });
});
