// The upstream HTTP/1.1 response parser: framing, chunked bodies and trailers, interim responses, strictness.
import { expect } from 'chai';
import type { HeaderList } from '../message/header-list.ts';
import { H1ResponseParser, type ParseError } from './h1-response-parser.ts';

interface Seen {
  status?: number;
  headers?: HeaderList;
  keepAlive?: boolean;
  body: string;
  ended: boolean;
  trailers?: HeaderList | undefined;
  upgradeRest?: string;
}

function parserFor(method = 'GET', upgrade = false): { p: H1ResponseParser; seen: Seen } {
  const seen: Seen = { body: '', ended: false };
  const p = new H1ResponseParser(
    {
      onHead: (status, headers, keepAlive) => Object.assign(seen, { status, headers, keepAlive }),
      onBody: (chunk) => {
        seen.body += chunk.toString('latin1');
      },
      onEnd: (trailers, last) => {
        if (last !== undefined) seen.body += last.toString('latin1');
        Object.assign(seen, { ended: true, trailers });
      },
      onUpgrade: (status, headers, rest) => Object.assign(seen, { status, headers, upgradeRest: rest.toString() }),
    },
    1024,
  );
  p.expect(method, upgrade);
  return { p, seen };
}

/** Feeds a message whole, then byte by byte in a fresh parser: both must agree. */
function parseBothWays(raw: string, method = 'GET'): Seen {
  const whole = parserFor(method);
  expect(whole.p.execute(Buffer.from(raw, 'latin1'))).to.equal(undefined);
  const bytewise = parserFor(method);
  for (const byte of Buffer.from(raw, 'latin1')) expect(bytewise.p.execute(Buffer.from([byte]))).to.equal(undefined);
  expect(bytewise.seen).to.deep.equal(whole.seen);
  return whole.seen;
}

function errorOf(raw: string, method = 'GET'): ParseError | undefined {
  return parserFor(method).p.execute(Buffer.from(raw, 'latin1'));
}

describe('H1ResponseParser', () => {
  it('Content-Length bodies, names lower-cased, values trimmed', () => {
    const seen = parseBothWays('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  spaced  \r\n\r\nhello');
    expect(seen).to.include({ status: 200, keepAlive: true, body: 'hello', ended: true });
    expect(seen.headers).to.deep.equal(['content-length', '5', 'x-a', 'spaced']);
  });

  it('chunked bodies with extensions and trailers', () => {
    const seen = parseBothWays(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\nX-T: y\r\n\r\n',
    );
    expect(seen.body).to.equal('hello world');
    expect(seen.trailers).to.deep.equal(['grpc-status', '0', 'x-t', 'y']);
    expect(seen.keepAlive).to.equal(true);
  });

  it('close-delimited bodies end at EOF and are not reusable', () => {
    const { p, seen } = parserFor();
    expect(p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nuntil the end'))).to.equal(undefined);
    expect(seen.keepAlive).to.equal(false);
    expect(seen.ended).to.equal(false);
    expect(p.readsUntilClose).to.equal(true);
    expect(p.finish()).to.equal(undefined);
    expect(seen).to.include({ ended: true, body: 'until the end' });
  });

  it('no body for HEAD, 204 and 304', () => {
    expect(parseBothWays('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', 'HEAD')).to.include({
      ended: true,
      body: '',
    });
    expect(parseBothWays('HTTP/1.1 204 No Content\r\n\r\n')).to.include({ ended: true, status: 204 });
    expect(parseBothWays('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n')).to.include({ ended: true });
  });

  it('skips interim 1xx heads', () => {
    const seen = parseBothWays(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    );
    expect(seen).to.include({ status: 201, ended: true });
  });

  it('hands the rest of the bytes over on 101 to an upgrade request', () => {
    const { p, seen } = parserFor('GET', true);
    expect(p.execute(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframe'))).to.equal(
      undefined,
    );
    expect(seen).to.include({ status: 101, upgradeRest: 'frame' });
  });

  it('keep-alive: HTTP/1.0 closes unless asked, Connection: close closes', () => {
    expect(parseBothWays('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).to.equal(false);
    expect(parseBothWays('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive).to.equal(
      true,
    );
    expect(parseBothWays('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n').keepAlive).to.equal(
      false,
    );
  });

  it('identical repeated Content-Length values are accepted and collapse into one field', () => {
    const list = parseBothWays('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX-A: 1\r\n\r\nok');
    expect(list.body).to.equal('ok');
    expect(list.headers).to.deep.equal(['content-length', '2', 'x-a', '1']);
    const twice = parseBothWays('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok');
    expect(twice.headers).to.deep.equal(['content-length', '2', 'x-a', '1']);
  });

  const malformed: [string, string][] = [
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['a non-numeric status', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nBroken\r\n\r\n'],
    ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
    ['conflicting Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a bad chunk terminator', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n'],
    ['a head over the limit', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}\r\n\r\n`],
    ['bytes after the response', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA'],
  ];
  for (const [what, raw] of malformed) {
    it(`rejects ${what}`, () => {
      expect(errorOf(raw)).to.be.an('error');
    });
  }

  it('reports a response cut short by EOF', () => {
    const { p } = parserFor();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(p.finish()).to.be.an('error');
  });
});
