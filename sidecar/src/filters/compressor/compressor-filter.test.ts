// The compressor filter through a live handler on real sockets: each coding decodes to the app's bytes, Envoy's skip
// rules hold, negotiation picks across compressors, streamed bodies arrive as they are written, and a client that
// leaves mid-body releases the compressor.

import http from 'node:http';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { DEFAULT_CONTENT_TYPES, DEFAULT_MIN_CONTENT_LENGTH } from '../../config/decode-compressor.ts';
import {
  COMPRESSOR_PER_ROUTE_TYPE,
  COMPRESSOR_TYPE,
  type CompressorConfig,
  type CompressorLibrary,
  type HttpFilterConfig,
} from '../../config/model.ts';
import { route, until } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

const GZIP: CompressorLibrary = { coding: 'gzip', level: 6, memLevel: 5, windowBits: 12, strategy: 0, chunkSize: 4096 };
const BROTLI: CompressorLibrary = {
  coding: 'br',
  quality: 3,
  mode: 0,
  windowBits: 18,
  inputBlockBits: 24,
  disableLiteralContextModeling: false,
  chunkSize: 4096,
};
const ZSTD: CompressorLibrary = { coding: 'zstd', level: 3, checksum: true, strategy: 0, chunkSize: 4096 };

function compressor(library: CompressorLibrary, extra: Partial<CompressorConfig> = {}): HttpFilterConfig {
  return {
    name: `compress-${library.coding}`,
    typeName: COMPRESSOR_TYPE,
    config: {
      name: library.coding,
      library,
      enabled: true,
      minContentLength: DEFAULT_MIN_CONTENT_LENGTH,
      contentTypes: DEFAULT_CONTENT_TYPES,
      disableOnEtag: false,
      removeAcceptEncoding: false,
      chooseFirst: false,
      ...extra,
    },
  };
}

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(2000);

/** Lets the test release the second half of /stream. */
let releaseStream: () => void = () => {};

function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://app');
  const seen = { 'x-seen-accept-encoding': String(req.headers['accept-encoding'] ?? '') };
  const whole = (status: number, headers: http.OutgoingHttpHeaders, body: string | Buffer): void => {
    res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...seen, ...headers });
    res.end(body);
  };
  switch (url.pathname) {
    case '/text':
      whole(
        200,
        { 'content-type': 'text/plain; charset=utf-8' },
        TEXT.slice(0, Number(url.searchParams.get('n') ?? TEXT.length)),
      );
      return;
    case '/json':
      whole(200, { 'content-type': 'application/json', etag: '"v1"', vary: 'Origin' }, JSON.stringify({ text: TEXT }));
      return;
    case '/png':
      whole(200, { 'content-type': 'image/png' }, TEXT);
      return;
    case '/encoded':
      whole(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, zlib.gzipSync(TEXT));
      return;
    case '/no-transform':
      whole(200, { 'content-type': 'text/plain', 'cache-control': 'public, no-transform' }, TEXT);
      return;
    case '/partial':
      whole(206, { 'content-type': 'text/plain', 'content-range': `bytes 0-99/${TEXT.length}` }, TEXT.slice(0, 100));
      return;
    case '/big': {
      res.writeHead(200, { 'content-type': 'text/plain', ...seen });
      let left = 64;
      const chunk = Buffer.from(TEXT.slice(0, 65536));
      const pump = (): void => {
        while (left > 0) {
          left -= 1;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    case '/stream':
      res.writeHead(200, { 'content-type': 'text/plain', ...seen });
      res.write('data: first\n\n');
      releaseStream = () => res.end('data: second\n\n');
      return;
    default:
      whole(404, {}, 'no such page');
  }
}

interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function decode(coding: string | undefined, body: Buffer): string {
  if (coding === 'gzip') return zlib.gunzipSync(body).toString();
  if (coding === 'br') return zlib.brotliDecompressSync(body).toString();
  if (coding === 'zstd') return zlib.zstdDecompressSync(body).toString();
  return body.toString();
}

describe('compressor filter (envoy.filters.http.compressor)', () => {
  const bench = filterBench(app);

  for (const library of [GZIP, BROTLI, ZSTD]) {
    it(`${library.coding}: the client decodes the app's exact bytes; Content-Length goes, Vary comes`, async () => {
      const p = await bench.proxy([compressor(library)]);
      const res = await get(p.port, '/text', { 'accept-encoding': library.coding });
      expect(res.status).to.equal(200);
      expect(res.headers['content-encoding']).to.equal(library.coding);
      expect(res.headers['content-length']).to.equal(undefined);
      expect(res.headers['vary']).to.equal('Accept-Encoding');
      expect(res.body.length).to.be.below(TEXT.length / 10);
      expect(decode(library.coding, res.body)).to.equal(TEXT);
      const stat = library.coding === 'br' ? 'brotli' : library.coding;
      const base = `http.in.compressor.${library.coding}.${stat}.`;
      expect(p.stats.counter(`${base}compressed`)).to.equal(1);
      expect(p.stats.counter(`${base}header_compressor_used`)).to.equal(1);
      await until(() => p.stats.counter(`${base}total_uncompressed_bytes`) === TEXT.length);
      expect(p.stats.counter(`${base}total_compressed_bytes`)).to.equal(res.body.length);
    });
  }

  it('a small body that arrives whole is compressed at once, in every coding, and counted', async () => {
    const p = await bench.proxy([compressor(GZIP), compressor(BROTLI), compressor(ZSTD)]);
    for (const library of [GZIP, BROTLI, ZSTD]) {
      const res = await get(p.port, '/text?n=2000', { 'accept-encoding': library.coding });
      expect(res.headers['content-encoding']).to.equal(library.coding);
      expect(decode(library.coding, res.body)).to.equal(TEXT.slice(0, 2000));
      const base = `http.in.compressor.${library.coding}.${library.coding === 'br' ? 'brotli' : library.coding}.`;
      await until(() => p.stats.counter(`${base}total_uncompressed_bytes`) === 2000);
      expect(p.stats.counter(`${base}total_compressed_bytes`)).to.equal(res.body.length);
    }
  });

  it('compresses over HTTP/2 too', async () => {
    const p = await bench.proxy([compressor(BROTLI)]);
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    try {
      const stream = session.request({ ':path': '/text', 'accept-encoding': 'br' });
      const [headers] = (await new Promise((resolve) => stream.once('response', (h) => resolve([h])))) as [
        http2.IncomingHttpHeaders,
      ];
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(headers['content-encoding']).to.equal('br');
      expect(decode('br', Buffer.concat(chunks))).to.equal(TEXT);
    } finally {
      session.close();
    }
  });

  it('a 4 MiB body streams through with backpressure and decodes whole', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    const res = await get(p.port, '/big', { 'accept-encoding': 'gzip' });
    const body = decode('gzip', res.body);
    expect(body.length).to.equal(64 * 65536);
    expect(body.slice(0, 100)).to.equal(TEXT.slice(0, 100));
  });

  it('leaves alone what Envoy leaves alone: small, unlisted types, encoded, no-transform, 206, HEAD', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    const ae = { 'accept-encoding': 'gzip' };
    const small = await get(p.port, `/text?n=${DEFAULT_MIN_CONTENT_LENGTH - 1}`, ae);
    expect(small.headers['content-encoding']).to.equal(undefined);
    expect(small.body.toString()).to.equal(TEXT.slice(0, DEFAULT_MIN_CONTENT_LENGTH - 1));
    expect(p.stats.counter('http.in.compressor.gzip.gzip.content_length_too_small')).to.equal(1);
    const png = await get(p.port, '/png', ae);
    expect(png.headers['content-encoding']).to.equal(undefined);
    expect(png.headers['vary']).to.equal(undefined);
    const encoded = await get(p.port, '/encoded', ae);
    expect(encoded.headers['content-encoding']).to.equal('gzip');
    expect(decode('gzip', encoded.body)).to.equal(TEXT);
    const noTransform = await get(p.port, '/no-transform', ae);
    expect(noTransform.headers['content-encoding']).to.equal(undefined);
    const partial = await get(p.port, '/partial', ae);
    expect(partial.status).to.equal(206);
    expect(partial.headers['content-encoding']).to.equal(undefined);
    const head = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: p.port, path: '/text', method: 'HEAD', headers: ae, agent: false },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    head.resume();
    expect(head.headers['content-encoding']).to.equal(undefined);
    expect(head.headers['content-length']).to.equal(String(TEXT.length));
    expect(p.stats.counter('http.in.compressor.gzip.gzip.compressed')).to.equal(0);
  });

  it('a client that does not accept the coding gets identity bytes, still with Vary', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    const none = await get(p.port, '/text');
    expect(none.headers['content-encoding']).to.equal(undefined);
    expect(none.headers['content-length']).to.equal(String(TEXT.length));
    expect(none.headers['vary']).to.equal('Accept-Encoding');
    const identity = await get(p.port, '/text', { 'accept-encoding': 'identity, gzip;q=0.5' });
    expect(identity.headers['content-encoding']).to.equal(undefined);
    const base = 'http.in.compressor.gzip.gzip.';
    expect(p.stats.counter(`${base}no_accept_header`)).to.equal(1);
    expect(p.stats.counter(`${base}header_identity`)).to.equal(1);
    expect(p.stats.counter(`${base}not_compressed`)).to.equal(2);
  });

  it('weakens a strong ETag and adds to an existing Vary', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    const res = await get(p.port, '/json', { 'accept-encoding': 'gzip' });
    expect(res.headers['content-encoding']).to.equal('gzip');
    expect(res.headers['etag']).to.equal('W/"v1"');
    expect(res.headers['vary']).to.equal('Origin, Accept-Encoding');
    const off = await bench.proxy([compressor(GZIP, { disableOnEtag: true })]);
    const kept = await get(off.port, '/json', { 'accept-encoding': 'gzip' });
    expect(kept.headers['content-encoding']).to.equal(undefined);
    expect(kept.headers['etag']).to.equal('"v1"');
    expect(off.stats.counter('http.in.compressor.gzip.gzip.not_compressed_etag')).to.equal(1);
  });

  it('picks one coding across the chain by q-value; the others count themselves overshadowed', async () => {
    const p = await bench.proxy([compressor(GZIP), compressor(BROTLI), compressor(ZSTD)]);
    const res = await get(p.port, '/text', { 'accept-encoding': 'gzip;q=0.5, br;q=0.8, zstd;q=0.1' });
    expect(res.headers['content-encoding']).to.equal('br');
    expect(res.headers['vary']).to.equal('Accept-Encoding');
    expect(decode('br', res.body)).to.equal(TEXT);
    expect(p.stats.counter('http.in.compressor.gzip.gzip.header_compressor_overshadowed')).to.equal(1);
    expect(p.stats.counter('http.in.compressor.zstd.zstd.header_compressor_overshadowed')).to.equal(1);
    expect(p.stats.counter('http.in.compressor.br.brotli.compressed')).to.equal(1);
  });

  it('remove_accept_encoding_header keeps the app from compressing; a route can turn the filter off', async () => {
    const perRoute = {
      'compress-gzip': {
        typeName: COMPRESSOR_PER_ROUTE_TYPE,
        config: { disabled: true, removeAcceptEncoding: undefined },
      },
    } as const;
    const p = await bench.proxy(
      [compressor(GZIP, { removeAcceptEncoding: true })],
      [
        { ...route({ prefix: '/text', cluster: 'app' }), perFilterConfig: perRoute },
        route({ prefix: '/', cluster: 'app' }),
      ],
    );
    const compressed = await get(p.port, '/json', { 'accept-encoding': 'gzip' });
    expect(compressed.headers['x-seen-accept-encoding']).to.equal('');
    expect(compressed.headers['content-encoding']).to.equal('gzip');
    const off = await get(p.port, '/text', { 'accept-encoding': 'gzip' });
    expect(off.headers['content-encoding']).to.equal(undefined);
    expect(off.headers['x-seen-accept-encoding']).to.equal('gzip');
  });

  it('a streamed body reaches the client chunk by chunk, each decodable as it arrives', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    const inflate = zlib.createGunzip();
    let text = '';
    inflate.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const ended = new Promise<void>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: p.port, path: '/stream', headers: { 'accept-encoding': 'gzip' }, agent: false },
        (res) => {
          expect(res.headers['content-encoding']).to.equal('gzip');
          res.pipe(inflate);
          inflate.on('end', resolve);
        },
      );
      req.on('error', reject);
    });
    await until(() => text === 'data: first\n\n');
    releaseStream();
    await ended;
    expect(text).to.equal('data: first\n\ndata: second\n\n');
  });

  it('a client that leaves mid-body releases the compressor and the proxy serves on', async () => {
    const p = await bench.proxy([compressor(GZIP)]);
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: p.port, path: '/stream', headers: { 'accept-encoding': 'gzip' }, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      setImmediate(() => req.on('error', reject));
    });
    await until(() => p.stats.counter('http.in.compressor.gzip.gzip.total_uncompressed_bytes') > 0);
    releaseStream();
    const res = await get(p.port, '/text', { 'accept-encoding': 'gzip' });
    expect(decode('gzip', res.body)).to.equal(TEXT);
  });
});
