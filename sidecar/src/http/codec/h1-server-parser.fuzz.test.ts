// Fuzzing the downstream HTTP/1.1 request parser (fast-check): any byte split of a request stream parses as the whole
// stream does, through the parser alone and through a connection; arbitrary bytes never throw out of it.
// FUZZ_SEED and FUZZ_RUNS explore further than the fixed CI seed.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { H1ServerConnection, type H1ServerHandlers } from './h1-server-connection.ts';
import { BodyReader, HEAD_OK, parseRequestHead, type RequestHeadFields } from './h1-server-parser.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1109);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const params = { seed: SEED, numRuns: RUNS };

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });
const visible = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 24,
});
const fieldValue = fc.tuple(visible, visible).map(([a, b]) => (b === '' ? a : `${a} ${b}`));
const latin1 = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));
/** Names that change framing or connection handling are left to the framing generators. */
const SPECIAL = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'host']);
const plainField = fc.tuple(token, fieldValue).filter(([n]) => !SPECIAL.has(n.toLowerCase()));

/** Cut points: the byte string split into pieces at these offsets (sorted, deduplicated). */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < bytes.length) out.push(bytes.subarray(from));
  return out;
}
const cuts = fc.array(fc.nat(), { maxLength: 12 });

// ---- request streams ------------------------------------------------------------------------------------------

interface Body {
  framing: string[];
  wire: string;
  content: string;
}

/** A chunked body; `trailer` makes its trailer fields (long ones find the line limit). */
const chunkedBodyWith = (trailer: fc.Arbitrary<[string, string]>): fc.Arbitrary<Body> =>
  fc
    .tuple(
      fc.array(
        fc.tuple(
          latin1(40).filter((s) => s.length > 0),
          fc.option(fc.constantFrom(';a=b', ';x', ' ;q="1"')),
        ),
        {
          maxLength: 4,
        },
      ),
      fc.array(trailer, { maxLength: 2 }),
      fc.boolean(),
    )
    .map(([chunks, trailers, upper]) => {
      let wire = '';
      for (const [data, ext] of chunks) {
        const size = data.length.toString(16);
        wire += `${upper ? size.toUpperCase() : size}${ext ?? ''}\r\n${data}\r\n`;
      }
      wire += '0\r\n';
      for (const [n, v] of trailers) wire += `${n}: ${v}\r\n`;
      wire += '\r\n';
      return { framing: ['Transfer-Encoding: chunked'], wire, content: chunks.map(([d]) => d).join('') };
    });

const chunkedBody = chunkedBodyWith(plainField);
/** Trailer lines around the reader's 4096-byte line limit (`x: ` + value). */
const longTrailer = fc.tuple(
  fc.constant('x'),
  fc.constantFrom(4092, 4093, 4094, 5000).map((n) => 'v'.repeat(n)),
);

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ framing: [], wire: '', content: '' }),
  latin1(200).map((s) => ({ framing: [`Content-Length: ${s.length}`], wire: s, content: s })),
  chunkedBody,
);

interface Request {
  wire: string;
  /** What a connection reports for it: method, url and body (headers are checked whole-versus-split). */
  method: string;
  url: string;
  content: string;
}

const request: fc.Arbitrary<Request> = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    visible.map((p) => `/${p}`),
    fc.array(plainField, { maxLength: 8 }),
    body,
    fc.boolean(),
  )
  .map(([method, url, fields, b, leadingCrlf]) => {
    const lines = [
      `${method} ${url} HTTP/1.1`,
      'Host: fuzz.test',
      ...fields.map(([n, v]) => `${n}: ${v}`),
      ...b.framing,
    ];
    const wire = `${leadingCrlf ? '\r\n' : ''}${lines.join('\r\n')}\r\n\r\n${b.wire}`;
    return { wire, method, url, content: b.content };
  });

const pipelined = fc.array(request, { minLength: 1, maxLength: 4 });
const stream = pipelined.map((rs) => Buffer.from(rs.map((r) => r.wire).join(''), 'latin1'));

/** A request stream with damage: bytes flipped, inserted or cut, anywhere. */
const damaged = fc
  .tuple(
    stream,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'cut')), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([bytes, edits]) => {
    let b = Buffer.from(bytes);
    for (const [at, byte, kind] of edits) {
      const i = at % (b.length + 1);
      if (kind === 'flip' && i < b.length) b[i] = byte;
      else if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    }
    return b;
  });

// ---- a connection over a fake socket ------------------------------------------------------------------------

/** Just enough of a net.Socket for H1ServerConnection: data delivered in the pieces given, honouring pause(). */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writable = true;
  writableLength = 0;
  writableHighWaterMark = 16_384;
  private paused = false;
  private flushing = false;
  private readonly queue: Buffer[] = [];

  write(): boolean {
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    this.flush();
    return this;
  }
  end(): this {
    this.writable = false;
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.writable = false;
      this.emit('close');
    }
    return this;
  }
  push(piece: Buffer): void {
    this.queue.push(piece);
    this.flush();
  }
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    while (!this.paused && !this.destroyed && this.queue.length > 0) this.emit('data', this.queue.shift());
    this.flushing = false;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What a connection made of the pieces: each request (method, url, headers, body) or refusal, in order. */
async function parseThroughConnection(pieces: Buffer[]): Promise<string[]> {
  const events: string[] = [];
  const socket = new FakeSocket();
  const handlers: H1ServerHandlers = {
    draining: false,
    onRequest(req, res) {
      let content = '';
      const done = (): void => {
        events.push(JSON.stringify([req.method, req.url, req.rawHeaders, content]));
        res.writeHead(200, [], true, false);
      };
      if (req.body === undefined) done();
      else {
        req.body.on('data', (c: Buffer) => {
          content += c.toString('latin1');
        });
        req.body.on('end', done);
        req.body.on('error', () => undefined);
      }
    },
    onTunnel(req) {
      events.push(`tunnel ${req.method} ${req.url}`);
    },
    onMalformed(s, status) {
      events.push(`malformed ${status}`);
      s.destroy();
    },
  };
  new H1ServerConnection(socket as unknown as Socket, handlers, {
    maxHeadBytes: 8 * 1024,
    maxHeadersCount: 100,
    idleTimeoutMs: 0,
    headersTimeoutMs: 0,
    maxRequestsPerConnection: 0,
  });
  for (const piece of pieces) {
    socket.push(piece);
    await tick();
  }
  // Let pending body streams end and pipelined requests run.
  for (let i = 0; i < 20; i++) await tick();
  socket.destroy();
  return events;
}

// ---- the parser alone ---------------------------------------------------------------------------------------

function freshHead(): RequestHeadFields {
  return {
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
}

/** Feeds a body reader piece by piece: the body and how many bytes it took, or the error. */
function readBody(pieces: Buffer[], length: number, chunked: boolean): string {
  const reader = new BodyReader();
  let content = '';
  let taken = 0;
  if (!reader.start(length, chunked)) return 'empty';
  for (const piece of pieces) {
    if (reader.done) break;
    const n = reader.feed(piece, { onBodyData: (c) => (content += c.toString('latin1')) });
    // Where an error is noticed depends on the pieces; what was delivered before it does not.
    if (n < 0) return `error after ${JSON.stringify(content)}`;
    expect(n).to.be.within(0, piece.length);
    taken += n;
  }
  return `${reader.done ? 'done' : 'partial'} ${taken} ${JSON.stringify(content)}`;
}

describe('h1 server parser: fuzzing', () => {
  it('parseRequestHead never throws: 0, 400 or 431, and a head it accepts is consistent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          latin1(300),
          stream.map((b) => b.toString('latin1')),
        ),
        (text) => {
          const out = freshHead();
          const status = parseRequestHead(text, out);
          expect([HEAD_OK, 400, 431]).to.include(status);
          if (status !== HEAD_OK) return;
          expect(out.method).to.match(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          expect(out.rawHeaders.length % 2).to.equal(0);
          for (let i = 0; i < out.rawHeaders.length; i += 2)
            expect(out.rawHeaders[i]).to.equal(out.rawHeaders[i]?.toLowerCase());
          expect(out.chunked && out.contentLength >= 0, 'chunked and a length').to.equal(false);
        },
      ),
      params,
    );
  });

  const splitBodiesReadAsWhole = (bodies: fc.Arbitrary<Body>): void => {
    fc.assert(
      fc.property(bodies, latin1(20), cuts, (b, after, at) => {
        const bytes = Buffer.from(b.wire + after, 'latin1');
        expect(readBody(splitAt(bytes, at), -1, true)).to.equal(readBody([bytes], -1, true));
      }),
      params,
    );
  };

  it('chunk lines around the line limit: a split body reads as the whole', () => {
    splitBodiesReadAsWhole(chunkedBodyWith(longTrailer));
  });

  it('a chunked body read in any pieces reads as the whole (and arbitrary bytes only ever give -1)', () => {
    fc.assert(
      fc.property(chunkedBody, latin1(20), cuts, (b, after, at) => {
        const bytes = Buffer.from(b.wire + after, 'latin1');
        const whole = readBody([bytes], -1, true);
        expect(whole).to.equal(`done ${Buffer.byteLength(b.wire, 'latin1')} ${JSON.stringify(b.content)}`);
        expect(readBody(splitAt(bytes, at), -1, true)).to.equal(whole);
      }),
      params,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), cuts, (raw, at) => {
        const bytes = Buffer.from(raw);
        expect(readBody(splitAt(bytes, at), -1, true)).to.equal(readBody([bytes], -1, true));
      }),
      params,
    );
  });

  it('a request stream split anywhere gives a connection the requests the whole stream gives', async () => {
    await fc.assert(
      fc.asyncProperty(stream, cuts, async (bytes, at) => {
        const whole = await parseThroughConnection([bytes]);
        expect(
          whole.filter((e) => e.startsWith('malformed')),
          'valid requests are accepted',
        ).to.deep.equal([]);
        expect(await parseThroughConnection(splitAt(bytes, at))).to.deep.equal(whole);
      }),
      { ...params, numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('a damaged request stream split anywhere gives the same requests and the same refusal as the whole', async () => {
    await fc.assert(
      fc.asyncProperty(damaged, cuts, async (bytes, at) => {
        expect(await parseThroughConnection(splitAt(bytes, at))).to.deep.equal(await parseThroughConnection([bytes]));
      }),
      { ...params, numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
