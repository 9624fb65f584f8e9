// Decodes envoy.filters.http.compressor's Compressor (with its gzip, brotli or zstd library) and CompressorPerRoute.
import zlib from 'node:zlib';
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import {
  anyTypeName,
  at,
  enumName,
  fail,
  type Obj,
  optObj,
  reqObj,
  str,
  strList,
  wrappedBool,
  wrappedNum,
} from './decode-values.ts';
import type { CompressorConfig, CompressorLibrary, CompressorPerRouteConfig } from './model.ts';

const { constants: Z } = zlib;

/** Envoy's default `content_type` list: text, scripts, JSON, XML and SVG. */
export const DEFAULT_CONTENT_TYPES: readonly string[] = [
  'text/html',
  'text/plain',
  'text/css',
  'application/javascript',
  'application/x-javascript',
  'text/javascript',
  'text/x-javascript',
  'text/ecmascript',
  'text/js',
  'text/jscript',
  'text/x-js',
  'application/ecmascript',
  'application/x-json',
  'application/xml',
  'application/json',
  'image/svg+xml',
  'text/xml',
  'application/xhtml+xml',
];

/** Envoy's default `min_content_length`. */
export const DEFAULT_MIN_CONTENT_LENGTH = 30;

const GZIP_STRATEGIES: Readonly<Record<string, number>> = {
  DEFAULT_STRATEGY: Z.Z_DEFAULT_STRATEGY,
  FILTERED: Z.Z_FILTERED,
  HUFFMAN_ONLY: Z.Z_HUFFMAN_ONLY,
  RLE: Z.Z_RLE,
  FIXED: Z.Z_FIXED,
};
const GZIP_STRATEGY_NUMBERS: readonly string[] = ['DEFAULT_STRATEGY', 'FILTERED', 'HUFFMAN_ONLY', 'RLE', 'FIXED'];

const BROTLI_MODES: Readonly<Record<string, number>> = {
  DEFAULT: Z.BROTLI_MODE_GENERIC,
  GENERIC: Z.BROTLI_MODE_GENERIC,
  TEXT: Z.BROTLI_MODE_TEXT,
  FONT: Z.BROTLI_MODE_FONT,
};
const BROTLI_MODE_NUMBERS: readonly string[] = ['DEFAULT', 'GENERIC', 'TEXT', 'FONT'];

const ZSTD_STRATEGIES: readonly string[] = [
  'DEFAULT',
  'FAST',
  'DFAST',
  'GREEDY',
  'LAZY',
  'LAZY2',
  'BTLAZY2',
  'BTOPT',
  'BTULTRA',
  'BTULTRA2',
];

/** An enum by name or number, as its index in `names`. */
function enumIndex(v: unknown, path: string, names: readonly string[]): number {
  const name = enumName(v, names[0] as string);
  const i = /^\d+$/.test(name) ? Number(name) : names.indexOf(name);
  if (i < 0 || i >= names.length) fail(path, `expected one of ${names.join(', ')}, got ${JSON.stringify(v)}`);
  return i;
}

/** A UInt32Value within [min, max]; `fallback` when unset. */
export function bounded(v: unknown, path: string, fallback: number, min: number, max: number): number {
  const n = wrappedNum(v, path, fallback);
  if (!Number.isInteger(n) || n < min || n > max) fail(path, `expected an integer from ${min} to ${max}, got ${n}`);
  return n;
}

function chunkSize(o: Obj, path: string): number {
  return bounded(o['chunk_size'], at(path, 'chunk_size'), 4096, 4096, 65536);
}

function gzipLibrary(o: Obj, path: string): CompressorLibrary {
  const level = enumName(o['compression_level'], 'DEFAULT_COMPRESSION');
  const n = /^\d+$/.test(level)
    ? Number(level)
    : level === 'DEFAULT_COMPRESSION'
      ? 0
      : level === 'BEST_SPEED'
        ? 1
        : level === 'BEST_COMPRESSION'
          ? 9
          : Number(/^COMPRESSION_LEVEL_(\d)$/.exec(level)?.[1] ?? Number.NaN);
  if (!Number.isInteger(n) || n < 0 || n > 9)
    fail(
      at(path, 'compression_level'),
      `expected a compression level 1-9, got ${JSON.stringify(o['compression_level'])}`,
    );
  const strategy = GZIP_STRATEGY_NUMBERS[
    enumIndex(o['compression_strategy'], at(path, 'compression_strategy'), GZIP_STRATEGY_NUMBERS)
  ] as string;
  return {
    coding: 'gzip',
    level: n === 0 ? 6 : n,
    memLevel: bounded(o['memory_level'], at(path, 'memory_level'), 5, 1, 9),
    windowBits: bounded(o['window_bits'], at(path, 'window_bits'), 12, 9, 15),
    strategy: GZIP_STRATEGIES[strategy] as number,
    chunkSize: chunkSize(o, path),
  };
}

function brotliLibrary(o: Obj, path: string): CompressorLibrary {
  const mode = BROTLI_MODE_NUMBERS[enumIndex(o['encoder_mode'], at(path, 'encoder_mode'), BROTLI_MODE_NUMBERS)];
  return {
    coding: 'br',
    quality: bounded(o['quality'], at(path, 'quality'), 3, 0, 11),
    mode: BROTLI_MODES[mode as string] as number,
    windowBits: bounded(o['window_bits'], at(path, 'window_bits'), 18, 10, 24),
    inputBlockBits: bounded(o['input_block_bits'], at(path, 'input_block_bits'), 24, 16, 24),
    disableLiteralContextModeling: o['disable_literal_context_modeling'] === true,
    chunkSize: chunkSize(o, path),
  };
}

function zstdLibrary(o: Obj, path: string): CompressorLibrary {
  if (o['dictionary'] !== undefined && o['dictionary'] !== null)
    fail(at(path, 'dictionary'), 'compression dictionaries are not supported by the sidecar');
  return {
    coding: 'zstd',
    // 0 is zstd's own default level (3).
    level: bounded(o['compression_level'], at(path, 'compression_level'), 3, 0, 22) || 3,
    checksum: o['enable_checksum'] === true,
    strategy: enumIndex(o['strategy'], at(path, 'strategy'), ZSTD_STRATEGIES),
    chunkSize: chunkSize(o, path),
  };
}

const LIBRARIES: Readonly<Record<string, (o: Obj, path: string) => CompressorLibrary>> = {
  [EXTENSION_TYPES.gzipCompressor]: gzipLibrary,
  [EXTENSION_TYPES.brotliCompressor]: brotliLibrary,
  [EXTENSION_TYPES.zstdCompressor]: zstdLibrary,
};

/** A RuntimeFeatureFlag's default_value (runtime keys are not read); unset is on. */
export function featureFlag(v: unknown, path: string): boolean {
  const o = optObj(v, path);
  return o === undefined ? true : wrappedBool(o['default_value'], at(path, 'default_value'), true);
}

function contentTypes(v: unknown, path: string): readonly string[] {
  const list = strList(v, path).map((t) => t.trim().toLowerCase());
  return list.length === 0 ? DEFAULT_CONTENT_TYPES : list;
}

export function compressorConfig(o: Obj, path: string): CompressorConfig {
  const lpath = at(path, 'compressor_library');
  const library = reqObj(o['compressor_library'], lpath);
  const typed = reqObj(library['typed_config'], at(lpath, 'typed_config'));
  const type = anyTypeName(typed);
  const decode = LIBRARIES[type];
  if (decode === undefined)
    fail(
      at(lpath, 'typed_config'),
      `unsupported compressor library ${type || '(no type)'}: expected gzip, brotli or zstd`,
    );
  const request = optObj(o['request_direction_config'], at(path, 'request_direction_config'));
  if (request !== undefined) {
    const common = optObj(request['common_config'], at(path, 'request_direction_config.common_config'));
    if (featureFlag(common?.['enabled'], at(path, 'request_direction_config.common_config.enabled')))
      fail(at(path, 'request_direction_config'), 'request compression is not supported by the sidecar');
  }
  const rpath = at(path, 'response_direction_config');
  const response = optObj(o['response_direction_config'], rpath);
  // Without response_direction_config, Envoy still reads the deprecated top-level fields.
  const legacy = response === undefined;
  const common = legacy ? o : (optObj(response['common_config'], at(rpath, 'common_config')) ?? {});
  const cpath = legacy ? path : at(rpath, 'common_config');
  const minKey = legacy ? 'content_length' : 'min_content_length';
  return {
    name: str(library['name']) || type.split('.')[3] || 'compressor',
    library: decode(typed, at(lpath, 'typed_config')),
    enabled: featureFlag(
      legacy ? o['runtime_enabled'] : common['enabled'],
      at(cpath, legacy ? 'runtime_enabled' : 'enabled'),
    ),
    minContentLength: bounded(common[minKey], at(cpath, minKey), DEFAULT_MIN_CONTENT_LENGTH, 0, 4_294_967_295),
    contentTypes: contentTypes(common['content_type'], at(cpath, 'content_type')),
    disableOnEtag: (legacy ? o : response)['disable_on_etag_header'] === true,
    removeAcceptEncoding: (legacy ? o : response)['remove_accept_encoding_header'] === true,
    chooseFirst: o['choose_first'] === true,
  };
}

export function compressorPerRouteConfig(o: Obj, path: string): CompressorPerRouteConfig {
  if (o['disabled'] === true) return { disabled: true, removeAcceptEncoding: undefined };
  const overrides = optObj(o['overrides'], at(path, 'overrides'));
  if (overrides === undefined) fail(path, 'expected disabled: true or overrides');
  const response = optObj(overrides['response_direction_config'], at(path, 'overrides.response_direction_config'));
  const raw = response?.['remove_accept_encoding_header'];
  return {
    disabled: false,
    removeAcceptEncoding:
      raw === undefined || raw === null
        ? undefined
        : wrappedBool(raw, at(path, 'overrides.response_direction_config.remove_accept_encoding_header'), false),
  };
}
