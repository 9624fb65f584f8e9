// Route matches: paths, headers, cookies (as regexes on the cookie header), query parameters and methods per client.
import { expect } from 'chai';
import { cookieMatcher, escapeRegex, routeMatch, ruleMatches } from './matches.ts';

/** Envoy and gRPC match safe_regex against the whole value. */
function fullMatch(regex: string, value: string): boolean {
  return new RegExp(`^(?:${regex})$`, 'u').test(value);
}

function cookieRegex(m: Parameters<typeof cookieMatcher>[1], name = 'session'): string {
  const matcher = cookieMatcher(name, m) as { string_match: { safe_regex: { regex: string } } };
  return matcher.string_match.safe_regex.regex;
}

describe('route matches', () => {
  it('maps pathPrefix, pathExact and pathRegex (default prefix /)', () => {
    expect(routeMatch({ pathPrefix: '/api' }, 'envoy')).to.deep.equal({ match: { prefix: '/api' } });
    expect(routeMatch({ pathExact: '/a' }, 'envoy')).to.deep.equal({ match: { path: '/a' } });
    expect(routeMatch({ pathRegex: '/v[0-9]+/.*' }, 'envoy')).to.deep.equal({
      match: { safe_regex: { regex: '/v[0-9]+/.*' } },
    });
    expect(routeMatch({}, 'envoy')).to.deep.equal({ match: { prefix: '/' } });
  });

  it('maps header matches to string_match / present_match for proxies, sorted by name', () => {
    const headers = {
      'X-B': { prefix: 'p' },
      'x-a': { exact: '1' },
      'x-c': { regex: 'r.*' },
      'x-d': { present: true },
      'x-e': { present: false },
    };
    expect(routeMatch({ headers }, 'envoy')).to.deep.equal({
      match: {
        prefix: '/',
        headers: [
          { name: 'x-b', string_match: { prefix: 'p' } },
          { name: 'x-a', string_match: { exact: '1' } },
          { name: 'x-c', string_match: { safe_regex: { regex: 'r.*' } } },
          { name: 'x-d', present_match: true },
          { name: 'x-e', present_match: true, invert_match: true },
        ],
      },
    });
    // Proxyless: the older HeaderMatcher fields every gRPC release reads (string_match only since gRFC A63).
    expect(routeMatch({ headers, cookies: { s: { exact: 'v' } } }, 'proxyless')).to.deep.equal({
      match: {
        prefix: '/',
        headers: [
          { name: 'x-b', prefix_match: 'p' },
          { name: 'x-a', exact_match: '1' },
          { name: 'x-c', safe_regex_match: { regex: 'r.*' } },
          { name: 'x-d', present_match: true },
          { name: 'x-e', present_match: true, invert_match: true },
          { name: 'cookie', safe_regex_match: { regex: '(.*[;,]\\s*)?s=v(\\s*[;,].*)?' } },
        ],
      },
    });
  });

  describe('cookies', () => {
    const table: [Parameters<typeof cookieMatcher>[1], string, boolean][] = [
      [{ exact: 'abc' }, 'session=abc', true],
      [{ exact: 'abc' }, 'a=1; session=abc; b=2', true],
      [{ exact: 'abc' }, 'a=1;session=abc', true],
      [{ exact: 'abc' }, 'session=abcd', false],
      [{ exact: 'abc' }, 'mysession=abc', false],
      [{ exact: 'abc' }, 'a=session=abc', false],
      [{ exact: 'a.c' }, 'session=abc', false],
      [{ prefix: 'beta-' }, 'x=1; session=beta-42', true],
      [{ prefix: 'beta-' }, 'session=alpha-1; x=beta-', false],
      [{ regex: '[0-9]+' }, 'session=123; y=z', true],
      [{ regex: '[0-9]+' }, 'session=12a', false],
      [{ present: true }, 'a=b; session=', true],
      [{ present: true }, 'a=b', false],
    ];
    for (const [m, header, expected] of table) {
      it(`${JSON.stringify(m)} ${expected ? 'matches' : 'does not match'} "${header}"`, () => {
        expect(fullMatch(cookieRegex(m), header)).to.equal(expected);
      });
    }

    it('inverts the presence match for present: false, on the cookie header', () => {
      const m = cookieMatcher('session', { present: false });
      expect(m['name']).to.equal('cookie');
      expect(m['invert_match']).to.equal(true);
    });
  });

  it('escapes regex metacharacters', () => {
    expect(fullMatch(escapeRegex('a.b*c(d)[e]{f}|g+h?^$\\'), 'a.b*c(d)[e]{f}|g+h?^$\\')).to.equal(true);
  });

  it('matches methods on :method for proxies, one exact or an alternation', () => {
    expect(routeMatch({ methods: ['get'] }, 'sidecar')).to.deep.equal({
      match: { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
    });
    const multi = routeMatch({ methods: ['PUT', 'GET'] }, 'envoy') as {
      match: { headers: { string_match: { safe_regex: { regex: string } } }[] };
    };
    const regex = multi.match.headers[0]?.string_match.safe_regex.regex ?? '';
    expect(regex).to.equal('GET|PUT');
    expect(['GET', 'PUT', 'POST'].map((m) => fullMatch(regex, m))).to.deep.equal([true, true, false]);
  });

  it('for proxyless: drops a POST-including methods list and skips entries without POST', () => {
    expect(routeMatch({ methods: ['POST', 'GET'] }, 'proxyless')).to.deep.equal({ match: { prefix: '/' } });
    expect(routeMatch({ methods: ['GET'] }, 'proxyless')).to.have.key('skip');
  });

  it('maps query parameters for proxies; proxyless skips entries that need them', () => {
    expect(routeMatch({ queryParams: { v: { exact: '2' }, debug: { present: true } } }, 'envoy')).to.deep.equal({
      match: {
        prefix: '/',
        query_parameters: [
          { name: 'debug', present_match: true },
          { name: 'v', string_match: { exact: '2' } },
        ],
      },
    });
    expect(routeMatch({ queryParams: { v: { exact: '2' } } }, 'proxyless')).to.have.key('skip');
    expect(routeMatch({ queryParams: { v: { present: false } } }, 'envoy')).to.have.key('skip');
  });

  it('turns each match entry of a rule into one RouteMatch, and a rule without entries into a catch-all', () => {
    const rule = {
      match: [{ pathPrefix: '/a' }, { queryParams: { q: {} } }, { pathPrefix: '/b' }],
      route: [{ service: 'x' }],
    };
    expect(ruleMatches(rule, 'sidecar').matches).to.have.length(3);
    const proxyless = ruleMatches(rule, 'proxyless');
    expect(proxyless.matches).to.deep.equal([{ prefix: '/a' }, { prefix: '/b' }]);
    expect(proxyless.skipped).to.deep.equal(['match[1]: gRPC requests carry no query parameters']);
    expect(ruleMatches({ route: [] }, 'envoy').matches).to.deep.equal([{ prefix: '/' }]);
  });
});
