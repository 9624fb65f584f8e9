// envoy.filters.http.decompressor: undoes the library's content-coding (gzip, brotli or zstd, node:zlib) of request
// bodies (at once when read whole before routing, else streamed through the request body phase) and of response bodies (streamed, or at once when they arrive whole), advertising
// the coding upstream in Accept-Encoding; a body that inflates past max_inflate_ratio (a decompression bomb) or the
// buffer limit is refused. Stats: http.<prefix>.decompressor.<library name>.<library>.{request,response}.*.
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { Stats } from '../../common/stats.ts';
import {
  type ContentCoding,
  DECOMPRESSOR_TYPE,
  type DecompressorConfig,
  type HttpFilterTypedConfig,
} from '../../config/model.ts';
import {
  type BodyTransform,
  type FilterEnv,
  type FilterStream,
  type HttpFilter,
  type HttpFilterFactory,
  type PreparedFilter,
  RequestBodyError,
  type ResponseHead,
} from '../../http/filter/filter.ts';
import { headerGet, headerRemove, headerSet } from '../../http/message/header-list.ts';
import type { LocalReply } from '../../http/message/reply.ts';

const LIBRARY_STAT: Readonly<Record<ContentCoding, string>> = { gzip: 'gzip', br: 'brotli', zstd: 'zstd' };
/** Output a small input may always reach before the ratio applies (headers of a compressed stream are tiny). */
const RATIO_SLACK = 64 * 1024;
/** A response body that arrives whole and small is inflated at once; larger ones stream. */
const WHOLE_MAX = 64 * 1024;
const BAD_BODY: LocalReply = { status: 400, body: 'invalid request body encoding', flags: '' };
const TOO_LARGE: LocalReply = { status: 413, body: 'request body too large once decoded', flags: '' };

type Direction = 'request' | 'response';
const COUNTERS = ['decompressed', 'not_decompressed', 'total_uncompressed_bytes', 'total_compressed_bytes'] as const;
type Counter = (typeof COUNTERS)[number];

/** The outermost content-coding of a Content-Encoding value (the last one applied), lower-case. */
function outermost(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',');
  return parts[parts.length - 1]?.trim().toLowerCase();
}

/** Content-Encoding without its outermost coding; undefined when nothing is left. */
function withoutOutermost(value: string): string | undefined {
  const parts = value.split(',');
  parts.pop();
  const rest = parts.join(',').trim();
  return rest === '' ? undefined : rest;
}

function noTransform(cacheControl: string | undefined): boolean {
  return cacheControl !== undefined && /(^|,)\s*no-transform\s*(,|$)/i.test(cacheControl);
}

class PreparedDecompressor implements PreparedFilter {
  readonly config: DecompressorConfig;
  readonly #stats: Stats;
  readonly #names: Readonly<Record<Direction, Readonly<Record<Counter, string>>>>;

  constructor(config: DecompressorConfig, env: FilterEnv) {
    this.config = config;
    this.#stats = env.stats;
    const base = `http.${env.statPrefix}.decompressor.${config.name}.${LIBRARY_STAT[config.coding]}.`;
    const names = (d: Direction) => {
      const out = {} as Record<Counter, string>;
      for (const c of COUNTERS) out[c] = `${base}${d}.${c}`;
      return out;
    };
    this.#names = { request: names('request'), response: names('response') };
  }

  count(direction: Direction, counter: Counter, by = 1): void {
    this.#stats.inc(this.#names[direction][counter], by);
  }

  /** The library's synchronous inflate of a whole body, its output bounded; throws when over the bound or corrupt. */
  inflateWhole(body: Buffer, limit: number): Buffer {
    const { coding, windowBits, chunkSize } = this.config;
    const options = { chunkSize, maxOutputLength: Math.max(1, limit) };
    if (coding === 'gzip') return zlib.gunzipSync(body, { ...options, windowBits });
    if (coding === 'br') return zlib.brotliDecompressSync(body, options);
    return zlib.zstdDecompressSync(body, options);
  }

  inflateStream(): Transform {
    const { coding, windowBits, chunkSize } = this.config;
    if (coding === 'gzip') return zlib.createGunzip({ windowBits, chunkSize });
    if (coding === 'br') return zlib.createBrotliDecompress({ chunkSize });
    return zlib.createZstdDecompress({ chunkSize });
  }

  create(stream: FilterStream): HttpFilter {
    return new DecompressorFilter(this, stream);
  }
}

/**
 * Inflates a streamed body through a zlib stream, with backpressure both ways, refusing one whose output outgrows its
 * input past the ratio (a bomb); `done` hears the byte counts when it ends.
 */
class GuardedInflate extends Transform {
  readonly #zlib: Transform;
  readonly #ratio: number;
  readonly #done: (input: number, output: number) => void;
  #in = 0;
  #out = 0;
  #flushed: TransformCallback | undefined;

  constructor(inflate: Transform, ratio: number, done: (input: number, output: number) => void) {
    super();
    this.#zlib = inflate;
    this.#ratio = ratio;
    this.#done = done;
    inflate.on('data', (chunk: Buffer) => {
      this.#out += chunk.length;
      if (this.#out > this.#in * this.#ratio + RATIO_SLACK) {
        // A request body answers 413 (as a whole one does); a response is cut off.
        this.destroy(new RequestBodyError('decompressed body outgrew its max_inflate_ratio', 413));
        return;
      }
      if (!this.push(chunk)) inflate.pause();
    });
    inflate.once('end', () => {
      this.#done(this.#in, this.#out);
      this.#flushed?.();
    });
    inflate.once('error', (err: Error) => this.destroy(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#in += chunk.length;
    if (this.#zlib.write(chunk)) callback();
    else this.#zlib.once('drain', () => callback());
  }

  override _flush(callback: TransformCallback): void {
    this.#flushed = callback;
    this.#zlib.end();
  }

  override _read(size: number): void {
    // The reader wants more: the paused decoder may go on.
    this.#zlib.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#zlib.destroy();
    callback(error);
  }
}

/** One body's decompression: at once when a response arrives whole and small, else streamed and guarded. */
class Decompression implements BodyTransform {
  readonly #prepared: PreparedDecompressor;
  readonly #direction: Direction;
  #streams: Transform[] = [];

  constructor(prepared: PreparedDecompressor, direction: Direction) {
    this.#prepared = prepared;
    this.#direction = direction;
  }

  whole(body: Buffer): Buffer | undefined {
    if (body.length > WHOLE_MAX) return undefined;
    const prepared = this.#prepared;
    let out: Buffer;
    try {
      out = prepared.inflateWhole(body, body.length * prepared.config.maxInflateRatio + RATIO_SLACK);
    } catch {
      // Corrupt or a bomb: the stream takes it, and fails it there (the response is reset).
      return undefined;
    }
    prepared.count('response', 'total_compressed_bytes', body.length);
    prepared.count('response', 'total_uncompressed_bytes', out.length);
    return out;
  }

  stream(): Transform {
    const prepared = this.#prepared;
    const direction = this.#direction;
    const stream = new GuardedInflate(prepared.inflateStream(), prepared.config.maxInflateRatio, (input, output) => {
      prepared.count(direction, 'total_compressed_bytes', input);
      prepared.count(direction, 'total_uncompressed_bytes', output);
    });
    this.#streams = [stream];
    return stream;
  }

  destroy(): void {
    for (const s of this.#streams) s.destroy();
    this.#streams = [];
  }
}

class DecompressorFilter implements HttpFilter {
  readonly #prepared: PreparedDecompressor;
  readonly #stream: FilterStream;
  #decompression: Decompression | undefined;

  constructor(prepared: PreparedDecompressor, stream: FilterStream) {
    this.#prepared = prepared;
    this.#stream = stream;
  }

  onRequestHeaders(stream: FilterStream): 'continue' | 'stop' {
    const prepared = this.#prepared;
    const { coding, request } = prepared.config;
    if (request.advertiseAcceptEncoding && prepared.config.response.enabled) {
      const accept = stream.header('accept-encoding');
      const listed = accept?.split(',').some((t) => t.split(';')[0]?.trim().toLowerCase() === coding) === true;
      if (!listed) stream.setRequestHeader('accept-encoding', accept === undefined ? coding : `${accept}, ${coding}`);
    }
    if (!request.enabled) return 'continue';
    const encoding = stream.header('content-encoding');
    if (outermost(encoding) !== coding) return 'continue';
    if (!request.ignoreNoTransform && noTransform(stream.header('cache-control'))) return 'continue';
    const body = stream.requestBody();
    if (body === undefined) {
      // A body that streams (larger than the buffer limit, or a gRPC call) is inflated on its way, guarded the same.
      if (stream.transformRequestBody(new Decompression(prepared, 'request'))) {
        stream.setRequestHeader('content-encoding', withoutOutermost(encoding as string));
        prepared.count('request', 'decompressed');
      } else prepared.count('request', 'not_decompressed');
      return 'continue';
    }
    const limit = Math.min(stream.bufferLimitBytes, body.length * prepared.config.maxInflateRatio + RATIO_SLACK);
    let decoded: Buffer;
    try {
      decoded = prepared.inflateWhole(body, limit);
    } catch (err) {
      const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      stream.localReply(tooLarge ? TOO_LARGE : BAD_BODY);
      return 'stop';
    }
    if (!stream.replaceRequestBody(decoded)) return 'continue';
    stream.setRequestHeader('content-encoding', withoutOutermost(encoding as string));
    stream.setRequestHeader('content-length', String(decoded.length));
    prepared.count('request', 'decompressed');
    prepared.count('request', 'total_compressed_bytes', body.length);
    prepared.count('request', 'total_uncompressed_bytes', decoded.length);
    return 'continue';
  }

  onResponseHeaders(head: ResponseHead, endStream: boolean): BodyTransform | undefined {
    const prepared = this.#prepared;
    const { coding, response } = prepared.config;
    if (!response.enabled || endStream || head.local === true || this.#stream.method === 'HEAD') return undefined;
    const encoding = headerGet(head.headers, 'content-encoding');
    if (outermost(encoding) !== coding) return undefined;
    if (!response.ignoreNoTransform && noTransform(headerGet(head.headers, 'cache-control'))) {
      prepared.count('response', 'not_decompressed');
      return undefined;
    }
    const rest = withoutOutermost(encoding as string);
    if (rest === undefined) headerRemove(head.headers, 'content-encoding');
    else headerSet(head.headers, 'content-encoding', rest);
    headerRemove(head.headers, 'content-length');
    prepared.count('response', 'decompressed');
    this.#decompression = new Decompression(prepared, 'response');
    return this.#decompression;
  }

  onDestroy(): void {
    this.#decompression?.destroy();
  }
}

/** The decompressor filter type (registered by filters/setup.ts). */
export const decompressorFilter: HttpFilterFactory = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
    if (config.typeName !== DECOMPRESSOR_TYPE)
      throw new Error(`the decompressor filter got a ${config.typeName} config`);
    return new PreparedDecompressor(config.config, env);
  },
};
