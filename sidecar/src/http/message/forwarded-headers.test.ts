// Forwarding headers: XFF append and trust (the client address X-Real-IP renders), X-Forwarded-Proto, X-Request-Id.
import { expect } from 'chai';
import { applyForwardedHeaders, normalizePeerAddress } from './forwarded-headers.ts';
import { headerGet } from './header-list.ts';

const cfg = (over: Partial<Parameters<typeof applyForwardedHeaders>[3]> = {}) => ({
  useRemoteAddress: true,
  xffNumTrustedHops: 0,
  generateRequestId: true,
  ...over,
});

describe('forwarded headers', () => {
  it('appends the peer to XFF; the client is the peer when no hop is trusted', () => {
    const h = ['x-forwarded-for', '1.1.1.1', 'x-forwarded-proto', 'https'];
    const client = applyForwardedHeaders(h, '10.0.0.2', 'http', cfg());
    expect(client).to.equal('10.0.0.2');
    expect(headerGet(h, 'x-forwarded-for')).to.equal('1.1.1.1, 10.0.0.2');
    expect(headerGet(h, 'x-forwarded-proto')).to.equal('http');
  });

  it('trusts N hops from the right and keeps the incoming proto', () => {
    const h = ['x-forwarded-for', '192.0.2.10, 203.0.113.1', 'x-forwarded-proto', 'https'];
    const client = applyForwardedHeaders(h, '203.0.113.128', 'http', cfg({ xffNumTrustedHops: 1 }));
    expect(client).to.equal('203.0.113.1');
    expect(headerGet(h, 'x-forwarded-proto')).to.equal('https');
  });

  it('falls back to the peer when XFF is shorter than the trusted hops', () => {
    const h = ['x-forwarded-for', '192.0.2.10'];
    expect(applyForwardedHeaders(h, '10.0.0.2', 'http', cfg({ xffNumTrustedHops: 5 }))).to.equal('10.0.0.2');
  });

  it('without use_remote_address XFF is untouched and read as is', () => {
    const h = ['x-forwarded-for', '192.0.2.10, 198.51.100.7'];
    expect(applyForwardedHeaders(h, '10.0.0.2', 'http', cfg({ useRemoteAddress: false }))).to.equal('198.51.100.7');
    expect(headerGet(h, 'x-forwarded-for')).to.equal('192.0.2.10, 198.51.100.7');
  });

  it('generates X-Request-Id only when missing', () => {
    const fresh: string[] = [];
    applyForwardedHeaders(fresh, '10.0.0.2', 'http', cfg());
    expect(headerGet(fresh, 'x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const kept = ['x-request-id', 'abc'];
    applyForwardedHeaders(kept, '10.0.0.2', 'http', cfg());
    expect(headerGet(kept, 'x-request-id')).to.equal('abc');
  });

  it('normalizes IPv4-mapped peers', () => {
    expect(normalizePeerAddress('::ffff:127.0.0.1')).to.equal('127.0.0.1');
    expect(normalizePeerAddress('::1')).to.equal('::1');
    expect(normalizePeerAddress(undefined)).to.equal('');
  });
});
