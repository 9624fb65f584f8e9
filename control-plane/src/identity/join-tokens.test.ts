// Join tokens: admitted until they expire, refused once changed anywhere, and tied to the key that signed them.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { JoinTokens, TOKEN_KEY_FILE } from './join-tokens.ts';

describe('join tokens', () => {
  it('admit their identity until they expire', () => {
    let now = Date.parse('2026-12-07T00:00:00Z');
    const tokens = JoinTokens.open(undefined, () => now);
    const { token, claims } = tokens.issue('shop', 'web', 60_000);
    expect(tokens.verify(token)).to.deep.equal(claims);
    now += 60_000;
    expect(tokens.verify(token)).to.deep.equal({ refused: 'join token expired at 2026-12-07T00:01:00.000Z' });
  });

  it('refuse a token changed in its claims, or signed with another key', () => {
    const a = JoinTokens.open(undefined);
    const b = JoinTokens.open(undefined);
    const { token } = a.issue('default', 'web');
    const [, payload, mac] = /^(trellis-join\.v1\.[^.]+)\.(.+)$/.exec(token) as unknown as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload.slice('trellis-join.v1.'.length), 'base64url').toString()) as object;
    const admin = Buffer.from(JSON.stringify({ ...claims, sa: 'admin' })).toString('base64url');
    expect(a.verify(`trellis-join.v1.${admin}.${mac}`)).to.deep.equal({ refused: 'join token signature is invalid' });
    expect(b.verify(token)).to.deep.equal({ refused: 'join token signature is invalid' });
  });

  it('keep their key in the data dir, mode 0600', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trellis-tokens-'));
    try {
      const { token } = JoinTokens.open(dir).issue('default', 'web');
      expect(statSync(path.join(dir, TOKEN_KEY_FILE)).mode & 0o777).to.equal(0o600);
      expect(JoinTokens.open(dir).verify(token)).to.not.have.property('refused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
