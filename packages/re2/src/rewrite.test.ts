// RE2 rewrite strings: what RE2::CheckRewriteString accepts and refuses, and the parts they parse to.
import { expect } from 'chai';
import { mustCompileRe2 } from './re2.ts';
import { compileRe2Rewrite } from './rewrite.ts';

describe('RE2 rewrite strings', () => {
  const twoGroups = mustCompileRe2('/(\\w+)/(\\d+)');

  it('parses literal text, group references and escaped backslashes', () => {
    const r = compileRe2Rewrite('/x/\\2/\\1\\\\\\0', twoGroups);
    expect(r).to.deep.equal({ rewrite: { source: '/x/\\2/\\1\\\\\\0', parts: ['/x/', 2, '/', 1, '\\', 0] } });
    expect(compileRe2Rewrite('', twoGroups)).to.deep.equal({ rewrite: { source: '', parts: [] } });
  });

  it('refuses a group the pattern does not have', () => {
    expect(compileRe2Rewrite('\\3', twoGroups)).to.deep.equal({
      error: '\\3 refers to group 3 but the pattern has only 2',
    });
    expect(compileRe2Rewrite('\\1', mustCompileRe2('/a')))
      .to.have.property('error')
      .that.matches(/no groups/);
  });

  it('refuses a backslash before anything but a digit or a backslash', () => {
    expect(compileRe2Rewrite('\\n', twoGroups))
      .to.have.property('error')
      .that.matches(/got \\n$/);
    expect(compileRe2Rewrite('a\\', twoGroups))
      .to.have.property('error')
      .that.matches(/got \\$/);
  });
});
