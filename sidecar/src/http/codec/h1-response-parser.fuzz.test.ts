// Fuzzing the upstream HTTP/1.1 response parser (fast-check): any byte split of a response parses as the whole
// response does; arbitrary bytes only ever return a ParseError, never throw. FUZZ_SEED / FUZZ_RUNS explore further.
import { expect } from 'chai';
import fc from 'fast-check';
import type { HeaderList } from '../message/header-list.ts';
import { H1ResponseParser, ParseError } from './h1-response-parser.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1110);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const params = { seed: SEED, numRuns: RUNS };
const MAX_HEAD = 8 * 1024;

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });
const visible = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 24,
});
const latin1 = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('latin1'));
const SPECIAL = new Set(['content-length', 'transfer-encoding', 'connection']);
const plainField = fc.tuple(token, visible).filter(([n]) => !SPECIAL.has(n.toLowerCase()));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

function splitAt(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < bytes.length) out.push(bytes.subarray(from));
  return out;
}

interface Response {
  method: string;
  wire: string;
  status: number;
  /** The body the parser must deliver. */
  content: string;
  /** The body runs until the connection closes. */
  untilClose: boolean;
}

/** A chunked body; `trailer` makes its trailer fields (long ones find the line limit). */
const chunkedWith = (trailer: fc.Arbitrary<[string, string]>) =>
  fc
    .tuple(
      fc.array(
        fc.tuple(
          latin1(40).filter((s) => s.length > 0),
          fc.option(fc.constantFrom(';a=b', ';x')),
        ),
        {
          maxLength: 4,
        },
      ),
      fc.array(trailer, { maxLength: 2 }),
    )
    .map(([chunks, trailers]) => {
      let wire = '';
      for (const [data, ext] of chunks) wire += `${data.length.toString(16)}${ext ?? ''}\r\n${data}\r\n`;
      wire += `0\r\n${trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
      return { framing: ['Transfer-Encoding: chunked'], wire, content: chunks.map(([d]) => d).join(''), close: false };
    });

/** Trailer lines around the parser's 1024-byte chunk-line limit (`x: ` + value). */
const longTrailer = fc.tuple(
  fc.constant('x'),
  fc.constantFrom(1019, 1020, 1021, 3000).map((n) => 'v'.repeat(n)),
);

const framedWith = (chunked: ReturnType<typeof chunkedWith>) =>
  fc.oneof(
    latin1(200).map((s) => ({ framing: [`Content-Length: ${s.length}`], wire: s, content: s, close: false })),
    chunked,
    latin1(200).map((s) => ({ framing: [] as string[], wire: s, content: s, close: true })),
  );

const responseWith = (framed: ReturnType<typeof framedWith>): fc.Arbitrary<Response> =>
  fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'HEAD'),
      fc.option(fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n')),
      fc.oneof(fc.integer({ min: 200, max: 599 }), fc.constantFrom(204, 304)),
      fc.constantFrom('1.1', '1.0'),
      fc.array(plainField, { maxLength: 8 }),
      framed,
    )
    .map(([method, interim, status, version, fields, f]) => {
      const noBody = method === 'HEAD' || status === 204 || status === 304;
      const head = [`HTTP/${version} ${status} Reason`, ...fields.map(([n, v]) => `${n}: ${v}`), ...f.framing];
      const wire = `${interim ?? ''}${head.join('\r\n')}\r\n\r\n${noBody ? '' : f.wire}`;
      return { method, wire, status, content: noBody ? '' : f.content, untilClose: !noBody && f.close };
    });

const response = responseWith(framedWith(chunkedWith(plainField)));

/** Everything the parser reported for these pieces (then a close), as one comparable record. */
function parse(pieces: Buffer[], method: string): { events: string[]; body: string; error: string | undefined } {
  const events: string[] = [];
  let body = '';
  const parser = new H1ResponseParser(
    {
      onHead(status: number, headers: HeaderList, keepAlive: boolean) {
        events.push(`head ${status} ${JSON.stringify(headers)} ${keepAlive}`);
      },
      onBody(chunk: Buffer) {
        body += chunk.toString('latin1');
      },
      onEnd(trailers: HeaderList | undefined, last: Buffer | undefined) {
        if (last) body += last.toString('latin1');
        events.push(`end ${JSON.stringify(trailers ?? [])}`);
      },
      onUpgrade(status: number) {
        events.push(`upgrade ${status}`);
      },
    },
    MAX_HEAD,
  );
  parser.expect(method, false);
  for (const piece of pieces) {
    const err = parser.execute(piece);
    if (err !== undefined) {
      expect(err).to.be.instanceOf(ParseError);
      return { events, body, error: err.message };
    }
  }
  const err = parser.finish();
  return { events, body, error: err?.message };
}

describe('h1 response parser: fuzzing', () => {
  const splitParsesAsWhole = (responses: fc.Arbitrary<Response>): void => {
    fc.assert(
      fc.property(responses, cuts, (r, at) => {
        const bytes = Buffer.from(r.wire, 'latin1');
        expect(parse(splitAt(bytes, at), r.method)).to.deep.equal(parse([bytes], r.method));
      }),
      params,
    );
  };

  it('chunk lines around the line limit: a split response parses as the whole', () => {
    splitParsesAsWhole(responseWith(framedWith(chunkedWith(longTrailer))));
  });

  it('a valid response split anywhere parses as the whole, and delivers its status and body', () => {
    fc.assert(
      fc.property(response, cuts, (r, at) => {
        const bytes = Buffer.from(r.wire, 'latin1');
        const whole = parse([bytes], r.method);
        expect(whole.error, r.wire).to.equal(undefined);
        expect(whole.events[0]).to.match(new RegExp(`^head ${r.status} `));
        expect(whole.events.at(-1)).to.match(/^end /);
        expect(whole.body).to.equal(r.content);
        expect(parse(splitAt(bytes, at), r.method)).to.deep.equal(whole);
      }),
      params,
    );
  });

  it('damaged responses and arbitrary bytes: a ParseError or a response, never a throw, the same split or whole', () => {
    const damaged = fc
      .tuple(
        response,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'cut')), {
          minLength: 1,
          maxLength: 4,
        }),
      )
      .map(([r, edits]) => {
        let b = Buffer.from(r.wire, 'latin1');
        for (const [pos, byte, kind] of edits) {
          const i = pos % (b.length + 1);
          if (kind === 'flip' && i < b.length) b[i] = byte;
          else if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
          else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
        }
        return { method: r.method, bytes: b };
      });
    const arbitrary = fc
      .tuple(fc.constantFrom('GET', 'HEAD'), fc.uint8Array({ maxLength: 300 }))
      .map(([method, raw]) => ({ method, bytes: Buffer.from(raw) }));
    fc.assert(
      fc.property(fc.oneof(damaged, arbitrary), cuts, ({ method, bytes }, at) => {
        const whole = parse([bytes], method);
        const split = parse(splitAt(bytes, at), method);
        // Where an error is noticed may differ; whether there is one, and what came before it, may not.
        expect(split.error === undefined).to.equal(whole.error === undefined);
        expect(split.events).to.deep.equal(whole.events);
        if (whole.error === undefined) expect(split.body).to.equal(whole.body);
      }),
      params,
    );
  });
});
