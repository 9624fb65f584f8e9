// envoy.filters.http.compressor: compresses response bodies (gzip, brotli or zstd from node:zlib) the client accepts,
// streaming with backpressure and a flush per upstream chunk (never the whole body in memory), with Envoy's rules
// (minimum size, media types, Vary, weak ETags, no double compression) and stats
// (http.<prefix>.compressor.<library name>.<library>.*).
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { Stats } from '../../common/stats.ts';
import {
  COMPRESSOR_PER_ROUTE_TYPE,
  COMPRESSOR_TYPE,
  type CompressorConfig,
  type CompressorLibrary,
  type ContentCoding,
  type HttpFilterTypedConfig,
} from '../../config/model.ts';
import type {
  BodyTransform,
  FilterEnv,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseHead,
} from '../../http/filter/filter.ts';
import { headerGet, headerRemove, headerSet } from '../../http/message/header-list.ts';
import { type Choice, chooseCoding, type Offer } from './accept-encoding.ts';

const { constants: Z } = zlib;

/** The stream's compressors and the client's Accept-Encoding, shared by the compressor filters of one stream. */
interface Negotiation {
  readonly accept: string | undefined;
  readonly offers: Offer[];
  choice: Choice | undefined;
  /** A compressor of the stream encoded the response (the others see its Content-Encoding, not the app's). */
  compressed: boolean;
}

const NEGOTIATION = 'envoy.filters.http.compressor';

/** Statuses whose body is absent or must not be re-encoded (a range of the identity body). */
const UNCOMPRESSIBLE_STATUS: ReadonlySet<number> = new Set([204, 206, 304]);

const LIBRARY_STAT: Readonly<Record<ContentCoding, string>> = { gzip: 'gzip', br: 'brotli', zstd: 'zstd' };

const COUNTERS = [
  'compressed',
  'not_compressed',
  'no_accept_header',
  'header_identity',
  'header_compressor_used',
  'header_compressor_overshadowed',
  'header_wildcard',
  'header_not_valid',
  'total_uncompressed_bytes',
  'total_compressed_bytes',
  'content_length_too_small',
  'not_compressed_etag',
] as const;

type Counter = (typeof COUNTERS)[number];

/**
 * Bodies up to this size that arrive whole are compressed in one synchronous call (no stream, no thread hop), at the
 * fast settings only: brotli above quality 5 or zstd above level 9 could hold the event loop for tens of ms, so they
 * always stream (their work runs on the thread pool).
 */
function wholeMax(library: CompressorLibrary): number {
  const fast =
    library.coding === 'gzip' ||
    (library.coding === 'br' && library.quality <= 5) ||
    (library.coding === 'zstd' && library.level <= 9);
  return fast ? 64 * 1024 : 0;
}

/** The library's node:zlib options (gzip), or its params (brotli, zstd). */
function zlibOptions(library: CompressorLibrary): zlib.ZlibOptions & zlib.BrotliOptions & zlib.ZstdOptions {
  switch (library.coding) {
    case 'gzip':
      return {
        level: library.level,
        memLevel: library.memLevel,
        windowBits: library.windowBits,
        strategy: library.strategy,
        chunkSize: library.chunkSize,
      };
    case 'br':
      return {
        chunkSize: library.chunkSize,
        params: {
          [Z.BROTLI_PARAM_QUALITY]: library.quality,
          [Z.BROTLI_PARAM_MODE]: library.mode,
          [Z.BROTLI_PARAM_LGWIN]: library.windowBits,
          [Z.BROTLI_PARAM_LGBLOCK]: library.inputBlockBits,
          [Z.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: library.disableLiteralContextModeling ? 1 : 0,
        },
      };
    case 'zstd': {
      const params: Record<number, number> = {
        [Z.ZSTD_c_compressionLevel]: library.level,
        [Z.ZSTD_c_checksumFlag]: library.checksum ? 1 : 0,
      };
      if (library.strategy > 0) params[Z.ZSTD_c_strategy] = library.strategy;
      return { chunkSize: library.chunkSize, params };
    }
  }
}

/** A compressing zlib stream for the library; every write is flushed, so streamed responses reach the client. */
export function compressStream(library: CompressorLibrary): Transform {
  const options = zlibOptions(library);
  switch (library.coding) {
    case 'gzip':
      return zlib.createGzip({ ...options, flush: Z.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliCompress({ ...options, flush: Z.BROTLI_OPERATION_FLUSH });
    case 'zstd':
      return zlib.createZstdCompress({ ...options, flush: Z.ZSTD_e_flush });
  }
}

/** A whole body compressed at once. */
export function compressWhole(library: CompressorLibrary, body: Buffer): Buffer {
  const options = zlibOptions(library);
  switch (library.coding) {
    case 'gzip':
      return zlib.gzipSync(body, options);
    case 'br':
      return zlib.brotliCompressSync(body, options);
    case 'zstd':
      return zlib.zstdCompressSync(body, options);
  }
}

/** One response's compression: at once when its body arrives whole and small, else a zlib stream. */
class Compression implements BodyTransform {
  readonly #prepared: PreparedCompressor;
  #zlib: Transform | undefined;
  #in = 0;
  #out = 0;

  constructor(prepared: PreparedCompressor) {
    this.#prepared = prepared;
  }

  whole(body: Buffer): Buffer | undefined {
    if (body.length > wholeMax(this.#prepared.config.library)) return undefined;
    const out = compressWhole(this.#prepared.config.library, body);
    this.#in += body.length;
    this.#out += out.length;
    return out;
  }

  stream(): Transform {
    const stream = compressStream(this.#prepared.config.library);
    stream.on('data', (chunk: Buffer) => {
      this.#out += chunk.length;
    });
    this.#zlib = stream;
    return stream;
  }

  destroy(): void {
    const prepared = this.#prepared;
    const stream = this.#zlib;
    this.#zlib = undefined;
    if (stream !== undefined) {
      this.#in += (stream as zlib.Gzip).bytesWritten;
      stream.destroy();
    }
    prepared.count('total_uncompressed_bytes', this.#in);
    prepared.count('total_compressed_bytes', this.#out);
    this.#in = this.#out = 0;
  }
}

/** The media type of a Content-Type (lower-case, no parameters). */
function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Whether a comma-separated header value lists a token (case-insensitive). */
function listsToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Adds Accept-Encoding to Vary (the response depends on it), unless Vary already covers it. */
function addVary(headers: string[]): void {
  const vary = headerGet(headers, 'vary');
  if (vary === undefined) {
    headers.push('vary', 'Accept-Encoding');
    return;
  }
  if (listsToken(vary, '*') || listsToken(vary, 'accept-encoding')) return;
  headerSet(headers, 'vary', `${vary}, Accept-Encoding`);
}

class PreparedCompressor implements PreparedFilter {
  readonly config: CompressorConfig;
  readonly #offer: Offer;
  readonly #types: ReadonlySet<string>;
  readonly #stats: Stats;
  readonly #names: Readonly<Record<Counter, string>>;

  constructor(config: CompressorConfig, env: FilterEnv) {
    this.config = config;
    this.#offer = { coding: config.library.coding, chooseFirst: config.chooseFirst };
    this.#types = new Set(config.contentTypes);
    this.#stats = env.stats;
    const base = `http.${env.statPrefix}.compressor.${config.name}.${LIBRARY_STAT[config.library.coding]}.`;
    const names = {} as Record<Counter, string>;
    for (const c of COUNTERS) names[c] = base + c;
    this.#names = names;
  }

  /** The same compressor with a route's remove_accept_encoding_header override. */
  withRemoveAcceptEncoding(remove: boolean, env: FilterEnv): PreparedCompressor {
    return new PreparedCompressor({ ...this.config, removeAcceptEncoding: remove }, env);
  }

  count(counter: Counter, by = 1): void {
    this.#stats.inc(this.#names[counter], by);
  }

  create(stream: FilterStream): HttpFilter | undefined {
    if (!this.config.enabled) return undefined;
    const state = stream.state;
    let negotiation = state.get(NEGOTIATION) as Negotiation | undefined;
    if (negotiation === undefined) {
      negotiation = { accept: stream.header('accept-encoding'), offers: [], choice: undefined, compressed: false };
      state.set(NEGOTIATION, negotiation);
    }
    negotiation.offers.push(this.#offer);
    if (this.config.removeAcceptEncoding) stream.setRequestHeader('accept-encoding', undefined);
    return new CompressorFilter(this, negotiation, stream.method === 'HEAD');
  }

  /** Whether a response head may be compressed at all (before negotiation); counts why not. */
  compressible(status: number, headers: string[]): boolean {
    if (status < 200 || UNCOMPRESSIBLE_STATUS.has(status)) return false;
    const encoding = headerGet(headers, 'content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    if (listsToken(headerGet(headers, 'cache-control'), 'no-transform')) return false;
    const type = headerGet(headers, 'content-type');
    if (type !== undefined && !this.#types.has(mediaType(type))) return false;
    const length = headerGet(headers, 'content-length');
    if (length !== undefined && Number(length) < this.config.minContentLength) {
      this.count('content_length_too_small');
      return false;
    }
    if (this.config.disableOnEtag && headerGet(headers, 'etag') !== undefined) {
      this.count('not_compressed_etag');
      return false;
    }
    return true;
  }
}

/** One stream's compressor: decides at the response head, then owns the zlib stream for the body. */
class CompressorFilter implements HttpFilter {
  readonly #prepared: PreparedCompressor;
  readonly #negotiation: Negotiation;
  readonly #head: boolean;
  #compression: Compression | undefined;

  constructor(prepared: PreparedCompressor, negotiation: Negotiation, head: boolean) {
    this.#prepared = prepared;
    this.#negotiation = negotiation;
    this.#head = head;
  }

  onRequestHeaders(): 'continue' {
    return 'continue';
  }

  onResponseHeaders({ status, headers }: ResponseHead, endStream: boolean): BodyTransform | undefined {
    const prepared = this.#prepared;
    const negotiation = this.#negotiation;
    if (negotiation.compressed) {
      // A sibling compressor won the negotiation and encoded the body.
      prepared.count('header_compressor_overshadowed');
      prepared.count('not_compressed');
      return undefined;
    }
    if (endStream || this.#head || !prepared.compressible(status, headers)) {
      prepared.count('not_compressed');
      return undefined;
    }
    // The response depends on Accept-Encoding whether or not this client gets it compressed.
    addVary(headers);
    negotiation.choice ??= chooseCoding(negotiation.accept, negotiation.offers);
    const choice = negotiation.choice;
    const mine = prepared.config.library.coding;
    if (choice.coding !== mine) {
      if (choice.coding !== undefined) prepared.count('header_compressor_overshadowed');
      else if (choice.by !== 'none') prepared.count(choice.by);
      prepared.count('not_compressed');
      return undefined;
    }
    prepared.count(choice.by);
    prepared.count('compressed');
    negotiation.compressed = true;
    headerRemove(headers, 'content-length');
    headerSet(headers, 'content-encoding', mine);
    const etag = headerGet(headers, 'etag');
    // The bytes differ from the identity body's: a strong validator would lie (RFC 9110 §8.8.1).
    if (etag !== undefined && !etag.startsWith('W/')) headerSet(headers, 'etag', `W/${etag}`);
    const compression = new Compression(prepared);
    this.#compression = compression;
    return compression;
  }

  onDestroy(): void {
    const compression = this.#compression;
    this.#compression = undefined;
    compression?.destroy();
  }
}

/** The compressor filter type (registered by filters/setup.ts). */
export const compressorFilter: HttpFilterFactory = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv, base?: PreparedFilter): PreparedFilter {
    if (config.typeName === COMPRESSOR_TYPE) return new PreparedCompressor(config.config, env);
    if (config.typeName !== COMPRESSOR_PER_ROUTE_TYPE || !(base instanceof PreparedCompressor))
      throw new Error(`the compressor filter got a ${config.typeName} config`);
    if (config.config.disabled) return { create: () => undefined };
    const remove = config.config.removeAcceptEncoding;
    return remove === undefined ? base : base.withRemoveAcceptEncoding(remove, env);
  },
};
