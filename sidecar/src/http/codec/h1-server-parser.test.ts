// The downstream request parser: request lines, field syntax, framing decisions and chunked bodies.
import { expect } from 'chai';
import { BodyReader, HEAD_OK, parseRequestHead, type RequestHeadFields } from './h1-server-parser.ts';

function head(text: string): RequestHeadFields | number {
  const out: RequestHeadFields = {
    method: '',
    url: '',
    httpVersion: '',
    rawHeaders: [],
    keepAlive: false,
    contentLength: -1,
    chunked: false,
    upgrade: false,
    expectContinue: false,
  };
  const status = parseRequestHead(text, out);
  return status === HEAD_OK ? out : status;
}

function body(chunks: string[], length: number, chunked: boolean): string | number {
  const reader = new BodyReader();
  let got = '';
  reader.start(length, chunked);
  for (const c of chunks) {
    const n = reader.feed(Buffer.from(c, 'latin1'), { onBodyData: (b) => (got += b.toString('latin1')) });
    if (n < 0) return n;
  }
  return reader.done ? got : `incomplete:${got}`;
}

describe('h1 server parser', () => {
  it('parses a request line and lower-cases field names', () => {
    const h = head('GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\nConnection: close') as RequestHeadFields;
    expect(h.method).to.equal('GET');
    expect(h.url).to.equal('/a?b=1');
    expect(h.rawHeaders).to.deep.equal(['host', 'x', 'x-y', 'z', 'connection', 'close']);
    expect(h.keepAlive).to.equal(false);
  });

  it('HTTP/1.0 closes unless it asks for keep-alive', () => {
    expect((head('GET / HTTP/1.0\r\nHost: x') as RequestHeadFields).keepAlive).to.equal(false);
    expect((head('GET / HTTP/1.0\r\nConnection: Keep-Alive') as RequestHeadFields).keepAlive).to.equal(true);
  });

  it('framing: Content-Length, chunked, WebSocket upgrade, 100-continue', () => {
    const h = head('POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nExpect: 100-continue') as RequestHeadFields;
    expect([h.contentLength, h.expectContinue]).to.deep.equal([5, true]);
    expect((head('POST / HTTP/1.1\r\nTransfer-Encoding: chunked') as RequestHeadFields).chunked).to.equal(true);
    const u = head('GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket') as RequestHeadFields;
    expect(u.upgrade).to.equal(true);
    expect((head('GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c') as RequestHeadFields).upgrade).to.equal(
      false,
    );
  });

  it('collapses identical Content-Length values into one field (RFC 9110 §8.6)', () => {
    const list = head('POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nX-A: 1') as RequestHeadFields;
    expect(list.rawHeaders).to.deep.equal(['content-length', '5', 'x-a', '1']);
    const twice = head('POST / HTTP/1.1\r\nContent-Length: 5\r\nX-A: 1\r\nContent-Length: 5') as RequestHeadFields;
    expect([twice.contentLength, twice.rawHeaders]).to.deep.equal([5, ['content-length', '5', 'x-a', '1']]);
    expect(head('POST / HTTP/1.1\r\nContent-Length: 5, 6')).to.equal(400);
  });

  it('refuses malformed heads with 400', () => {
    for (const bad of [
      'GARBAGE',
      'G@T / HTTP/1.1',
      'GET  / HTTP/1.1',
      'GET / HTTP/2.0',
      'GET / HTTP/1.1 ',
      'GET /\x01 HTTP/1.1',
      'GET / HTTP/1.1\r\nBroken header',
      'GET / HTTP/1.1\r\nX : y',
      'GET / HTTP/1.1\r\n folded',
      'GET / HTTP/1.1\r\nX: a\x00b',
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2',
      'POST / HTTP/1.1\r\nContent-Length: -1',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked',
      'POST / HTTP/1.1\r\nTransfer-Encoding: gzip',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip',
    ]) {
      expect(head(bad), JSON.stringify(bad)).to.equal(400);
    }
  });

  it('reads Content-Length and chunked bodies across reads', () => {
    expect(body(['hel', 'lo!!'], 5, false)).to.equal('hello');
    expect(body(['5\r\nhel', 'lo\r', '\n6;ext=1\r\n world\r\n0\r', '\nTrailer: x\r\n\r\n'], -1, true)).to.equal(
      'hello world',
    );
    expect(body(['zz\r\n'], -1, true)).to.equal(-1);
    expect(body(['3\r\nabcX\r\n'], -1, true)).to.equal(-1);
    expect(body(['3\r\nab'], -1, true)).to.equal('incomplete:ab');
  });
});
