// W3C traceparent and B3 parsing (malformed headers ignored), precedence, and what goes to the next hop.
import { expect } from 'chai';
import fc from 'fast-check';
import { headerGet } from '../../http/message/header-list.ts';
import { formatB3Single, parseB3Multi, parseB3Single } from './b3.ts';
import { extractContext, injectContext } from './propagation.ts';
import { formatTraceparent, parseTraceparent } from './traceparent.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('tracing propagation', () => {
  it('parses a valid traceparent with its sampled flag and tracestate', () => {
    expect(parseTraceparent(`00-${T}-${S}-01`, 'a=1')).to.deep.equal({
      traceId: T,
      spanId: S,
      sampled: true,
      traceState: 'a=1',
      format: 'w3c',
    });
    expect(parseTraceparent(`00-${T}-${S}-00`)?.sampled).to.equal(false);
    // Other flag bits do not matter; only bit 0 is "sampled".
    expect(parseTraceparent(`00-${T}-${S}-03`)?.sampled).to.equal(true);
    // A later version may carry more fields.
    expect(parseTraceparent(`01-${T}-${S}-01-extra`)?.traceId).to.equal(T);
  });

  it('ignores malformed traceparent values', () => {
    const bad = [
      '',
      'garbage',
      `00-${T}-${S}-1`,
      `00-${T.toUpperCase()}-${S}-01`,
      `00-${T}-${S.slice(1)}x-01`,
      `00-${'0'.repeat(32)}-${S}-01`,
      `00-${T}-${'0'.repeat(16)}-01`,
      `ff-${T}-${S}-01`,
      `00-${T}-${S}-01-extra`,
      `00_${T}-${S}-01`,
      `00-${T}-${S}-0g`,
      `01-${T}-${S}-01x`,
    ];
    for (const v of bad) expect(parseTraceparent(v), v).to.equal(undefined);
  });

  it('round-trips any ids through format and parse', () => {
    const hexOf = (n: number) =>
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    fc.assert(
      fc.property(hexOf(32), hexOf(16), fc.boolean(), (t, s, sampled) => {
        const parsed = parseTraceparent(formatTraceparent(t, s, sampled));
        if (/^0+$/.test(t) || /^0+$/.test(s)) return parsed === undefined;
        return parsed?.traceId === t && parsed.spanId === s && parsed.sampled === sampled;
      }),
    );
  });

  it('parses B3 single headers, including a bare decision and 64-bit trace ids', () => {
    expect(parseB3Single(`${T}-${S}-1`)).to.deep.include({ traceId: T, spanId: S, sampled: true, format: 'b3-single' });
    expect(parseB3Single(`${T}-${S}`)?.sampled).to.equal(undefined);
    expect(parseB3Single(`${T}-${S}-d-${S}`)?.sampled).to.equal(true);
    expect(parseB3Single(`a3ce929d0e0e4736-${S}-0`)).to.deep.include({
      traceId: `0000000000000000a3ce929d0e0e4736`,
      sampled: false,
    });
    expect(parseB3Single('0')).to.deep.include({ traceId: '', spanId: '', sampled: false });
    for (const v of ['', 'x', `${T}-${S}-2`, `${T}-abc-1`, `${T}-${S}-1-zz`, `${T}-${S}-1-${S}-x`, `12-${S}-1`])
      expect(parseB3Single(v), v).to.equal(undefined);
  });

  it('parses B3 multi headers; debug means sampled; a lone id is malformed', () => {
    expect(parseB3Multi(T, S, '1', undefined)).to.deep.include({ traceId: T, spanId: S, sampled: true });
    expect(parseB3Multi(T, S, 'false', undefined)?.sampled).to.equal(false);
    expect(parseB3Multi(T, S, undefined, '1')?.sampled).to.equal(true);
    expect(parseB3Multi(undefined, undefined, '0', undefined)).to.deep.include({ traceId: '', sampled: false });
    expect(parseB3Multi(T, undefined, '1', undefined)).to.equal(undefined);
    expect(parseB3Multi('xyz', S, '1', undefined)).to.equal(undefined);
    expect(formatB3Single(T, S, true, '')).to.equal(`${T}-${S}-1`);
  });

  it('extracts W3C first, then b3, then x-b3-*, in one pass over the headers', () => {
    expect(extractContext(['accept', '*/*'])).to.equal(undefined);
    const w3c = extractContext(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'a=1', 'tracestate', 'b=2']);
    expect(w3c).to.deep.include({ traceId: T, traceState: 'a=1,b=2', format: 'w3c' });
    // With B3 beside it, W3C's ids win and the B3 style is remembered for the next hop.
    const both = extractContext(['b3', `${'1'.repeat(32)}-${S}-0`, 'traceparent', `00-${T}-${S}-01`]);
    expect(both).to.deep.include({ traceId: T, sampled: true, format: 'b3-single' });
    // A malformed traceparent falls through to B3; two traceparents are malformed.
    expect(extractContext(['traceparent', 'nope', 'b3', `${T}-${S}-1`])?.format).to.equal('b3-single');
    expect(extractContext(['traceparent', `00-${T}-${S}-01`, 'traceparent', `00-${T}-${S}-01`])).to.equal(undefined);
    expect(extractContext(['x-b3-traceid', T, 'x-b3-spanid', S, 'x-b3-sampled', '1'])?.format).to.equal('b3-multi');
    expect(extractContext(['b3', 'bogus'])).to.equal(undefined);
  });

  it('injects traceparent, and the same ids in the B3 style the request came with', () => {
    const w3c: string[] = ['traceparent', 'old', 'tracestate', 'a=1'];
    injectContext(w3c, 'w3c', T, S, true, '');
    expect(w3c).to.deep.equal(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'a=1']);
    const single: string[] = ['b3', 'old'];
    injectContext(single, 'b3-single', T, S, false, 'aaaaaaaaaaaaaaaa');
    expect(headerGet(single, 'b3')).to.equal(`${T}-${S}-0-aaaaaaaaaaaaaaaa`);
    expect(headerGet(single, 'traceparent')).to.equal(`00-${T}-${S}-00`);
    const multi: string[] = ['x-b3-traceid', 'old', 'x-b3-parentspanid', 'old'];
    injectContext(multi, 'b3-multi', T, S, true, '');
    expect(headerGet(multi, 'x-b3-traceid')).to.equal(T);
    expect(headerGet(multi, 'x-b3-spanid')).to.equal(S);
    expect(headerGet(multi, 'x-b3-sampled')).to.equal('1');
    expect(headerGet(multi, 'x-b3-parentspanid')).to.equal(undefined);
  });
});
