// Accept-Encoding negotiation: q-values, wildcards, identity, ties and malformed headers.
import { expect } from 'chai';
import { chooseCoding, type Offer } from './accept-encoding.ts';

const gzip: Offer = { coding: 'gzip', chooseFirst: false };
const br: Offer = { coding: 'br', chooseFirst: false };
const zstd: Offer = { coding: 'zstd', chooseFirst: false };

describe('Accept-Encoding negotiation', () => {
  it('picks the offer with the highest q-value, whatever the chain order', () => {
    expect(chooseCoding('gzip;q=0.5, br', [gzip, br])).to.deep.equal({ coding: 'br', by: 'header_compressor_used' });
    expect(chooseCoding('gzip, br;q=0.9', [br, gzip])).to.deep.equal({ coding: 'gzip', by: 'header_compressor_used' });
  });

  it('breaks ties by choose_first, then by the client order', () => {
    expect(chooseCoding('gzip, br', [br, gzip]).coding).to.equal('gzip');
    expect(chooseCoding('gzip, br', [{ ...br, chooseFirst: true }, gzip]).coding).to.equal('br');
  });

  it('matches a wildcard after every named coding of the same q', () => {
    expect(chooseCoding('*', [zstd, gzip])).to.deep.equal({ coding: 'zstd', by: 'header_wildcard' });
    expect(chooseCoding('*, gzip', [zstd, gzip]).coding).to.equal('gzip');
    expect(chooseCoding('*;q=0.1, gzip;q=0', [gzip, br]).coding).to.equal('br');
  });

  it('never picks a coding the client refuses (q=0) or does not name', () => {
    expect(chooseCoding('gzip;q=0', [gzip])).to.deep.equal({ coding: undefined, by: 'none' });
    expect(chooseCoding('deflate', [gzip, br])).to.deep.equal({ coding: undefined, by: 'none' });
  });

  it('leaves the body alone when identity ranks above every offer', () => {
    expect(chooseCoding('identity, gzip;q=0.5', [gzip])).to.deep.equal({ coding: undefined, by: 'header_identity' });
    expect(chooseCoding('identity;q=0.5, gzip', [gzip]).coding).to.equal('gzip');
  });

  it('tells a missing header from a malformed one; malformed entries are skipped', () => {
    expect(chooseCoding(undefined, [gzip]).by).to.equal('no_accept_header');
    expect(chooseCoding('gzip;q=2', [gzip]).by).to.equal('header_not_valid');
    expect(chooseCoding(' , ;', [gzip]).by).to.equal('header_not_valid');
    expect(chooseCoding('gzip;q=abc, br', [gzip, br]).coding).to.equal('br');
    expect(chooseCoding('GZIP ; Q=0.8', [gzip]).coding).to.equal('gzip');
  });
});
