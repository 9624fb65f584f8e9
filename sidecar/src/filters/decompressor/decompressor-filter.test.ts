// The decompressor filter through a live handler on real sockets: compressed responses reach the client decoded
// (whole and streamed), Accept-Encoding is advertised upstream, compressed request bodies reach the app decoded, and
// a decompression bomb is refused instead of inflated.
import http from 'node:http';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { DECOMPRESSOR_TYPE, type DecompressorConfig, type HttpFilterConfig } from '../../config/model.ts';
import { send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

/** About 600 KB that gzip takes to a few hundred KB (a plain compressible body, far from the inflate ratio). */
const TEXT = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 100_003).join(',');
const BOMB = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));

function decompressor(extra: Partial<DecompressorConfig> = {}): HttpFilterConfig[] {
  return [
    {
      name: 'decompress',
      typeName: DECOMPRESSOR_TYPE,
      config: {
        name: 'gz',
        coding: 'gzip',
        windowBits: 15,
        chunkSize: 4096,
        maxInflateRatio: 100,
        request: { enabled: true, ignoreNoTransform: false, advertiseAcceptEncoding: true },
        response: { enabled: true, ignoreNoTransform: false },
        ...extra,
      },
    },
  ];
}

function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/echo-body') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-seen-encoding': String(req.headers['content-encoding']) });
      res.end(Buffer.concat(chunks));
      return;
    }
    const body = url.pathname === '/bomb' ? BOMB : zlib.gzipSync(url.pathname === '/small' ? 'small body' : TEXT);
    res.writeHead(200, {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
      'x-seen-accept-encoding': String(req.headers['accept-encoding']),
    });
    res.end(body);
  });
}

function raw(
  port: number,
  path: string,
): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks), aborted: false }));
      res.on('error', () => resolve({ headers: res.headers, body: Buffer.concat(chunks), aborted: true }));
      res.on('aborted', () => resolve({ headers: res.headers, body: Buffer.concat(chunks), aborted: true }));
    });
    req.on('error', reject);
  });
}

describe('decompressor filter (envoy.filters.http.decompressor)', () => {
  const bench = filterBench(app);

  it('decodes compressed responses, small (at once) and large (streamed); advertises gzip upstream', async () => {
    const p = await bench.proxy(decompressor());
    const small = await raw(p.port, '/small');
    expect(small.body.toString()).to.equal('small body');
    expect(small.headers['content-encoding']).to.equal(undefined);
    expect(small.headers['x-seen-accept-encoding']).to.equal('gzip');
    const large = await raw(p.port, '/large');
    expect(large.body.toString()).to.equal(TEXT);
    expect(large.headers['content-length']).to.equal(undefined);
    expect(p.stats.counter('http.in.decompressor.gz.gzip.response.decompressed')).to.equal(2);
    expect(p.stats.counter('http.in.decompressor.gz.gzip.response.total_uncompressed_bytes')).to.equal(
      'small body'.length + TEXT.length,
    );
  });

  it('decodes a compressed request body before the app sees it', async () => {
    const p = await bench.proxy(decompressor());
    const res = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      body: zlib.gzipSync('hello, app'),
    });
    expect(res.body).to.equal('hello, app');
    expect(res.headers['x-seen-encoding']).to.equal('undefined');
    const bad = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: 'not gzip at all',
    });
    expect(bad.status).to.equal(400);
    const bomb = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: BOMB,
    });
    expect(bomb.status).to.equal(413);
  });

  it('decodes a streaming request body (past the buffer limit) on its way; refuses a streamed bomb (413) or garbage (400)', async () => {
    // A 16 KiB buffer limit: these bodies are not read whole before routing, they stream through the request body phase.
    const p = await bench.proxy(decompressor(), undefined, {}, { bufferLimitBytes: 16 * 1024 });
    const compressed = zlib.gzipSync(TEXT);
    expect(compressed.length).to.be.above(16 * 1024);
    const res = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      body: compressed,
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.equal(TEXT);
    expect(res.headers['x-seen-encoding']).to.equal('undefined');
    expect(p.stats.counter('http.in.decompressor.gz.gzip.request.decompressed')).to.equal(1);
    expect(p.stats.counter('http.in.decompressor.gz.gzip.request.total_uncompressed_bytes')).to.equal(TEXT.length);
    expect(BOMB.length).to.be.above(16 * 1024);
    const bomb = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: BOMB,
    });
    expect(bomb.status).to.equal(413);
    const garbage = Buffer.concat([compressed.subarray(0, 20), Buffer.alloc(64 * 1024, 0x5a)]);
    const bad = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: garbage,
    });
    expect(bad.status).to.equal(400);
    // The proxy serves on.
    const after = await send(p.port, '/echo-body', {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: zlib.gzipSync('still here'),
    });
    expect(after.body).to.equal('still here');
  });

  it('a response that inflates past max_inflate_ratio is cut off, not inflated; the proxy serves on', async () => {
    const p = await bench.proxy(decompressor());
    const bomb = await raw(p.port, '/bomb');
    expect(bomb.aborted).to.equal(true);
    expect(bomb.body.length).to.be.below(10 * 1024 * 1024);
    expect((await raw(p.port, '/small')).body.toString()).to.equal('small body');
  });
});
