// X-Forwarded-Client-Cert per forward_client_cert_details: a verified caller's element where the mode sets it, a
// client's own header only where the mode trusts it (never from a plaintext caller, but in ALWAYS_FORWARD_ONLY).
import { expect } from 'chai';
import type { ForwardClientCert } from '../../config/model.ts';
import { applyClientCertHeader, XFCC } from './client-cert-header.ts';
import { headerGet } from './header-list.ts';

const PEER = {
  peerUri: 'spiffe://mesh/ns/default/sa/client',
  localUri: 'spiffe://mesh/ns/default/sa/web',
  peerHash: 'ab'.repeat(32),
};
const ELEMENT = `By=spiffe://mesh/ns/default/sa/web;Hash=${'ab'.repeat(32)};URI=spiffe://mesh/ns/default/sa/client`;

function run(mode: ForwardClientCert['mode'], peer: typeof PEER | undefined, incoming?: string): string | undefined {
  const headers = ['host', 'web', ...(incoming === undefined ? [] : [XFCC, incoming])];
  applyClientCertHeader(headers, peer, { mode, setUri: true });
  return headerGet(headers, XFCC);
}

describe('X-Forwarded-Client-Cert', () => {
  it('SANITIZE (the default) drops it always; SANITIZE_SET replaces it with the verified caller, drops it in plaintext', () => {
    expect(run('sanitize', PEER, 'URI=spiffe://forged')).to.equal(undefined);
    expect(run('sanitize-set', PEER, 'URI=spiffe://forged')).to.equal(ELEMENT);
    expect(run('sanitize-set', undefined, 'URI=spiffe://forged')).to.equal(undefined);
  });

  it('FORWARD_ONLY and APPEND_FORWARD trust it only from an mTLS caller; ALWAYS_FORWARD_ONLY passes it on', () => {
    expect(run('forward-only', PEER, 'URI=a')).to.equal('URI=a');
    expect(run('forward-only', undefined, 'URI=a')).to.equal(undefined);
    expect(run('append-forward', PEER, 'URI=a')).to.equal(`URI=a,${ELEMENT}`);
    expect(run('append-forward', PEER)).to.equal(ELEMENT);
    expect(run('append-forward', undefined, 'URI=a')).to.equal(undefined);
    expect(run('always-forward-only', undefined, 'URI=a')).to.equal('URI=a');
  });

  it('without set_current_client_cert_details.uri: By and Hash only', () => {
    const headers: string[] = [];
    applyClientCertHeader(headers, PEER, { mode: 'sanitize-set', setUri: false });
    expect(headerGet(headers, XFCC)).to.equal(`By=spiffe://mesh/ns/default/sa/web;Hash=${'ab'.repeat(32)}`);
  });
});
