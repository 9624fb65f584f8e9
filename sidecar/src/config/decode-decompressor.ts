// Decodes envoy.filters.http.decompressor's Decompressor (with its gzip, brotli or zstd library) into the model.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import { bounded, featureFlag } from './decode-compressor.ts';
import { anyTypeName, at, fail, type Obj, objList, optObj, reqObj, str, wrappedBool } from './decode-values.ts';
import type { ContentCoding, DecompressorConfig } from './model.ts';

const LIBRARIES: Readonly<Record<string, ContentCoding>> = {
  [EXTENSION_TYPES.gzipDecompressor]: 'gzip',
  [EXTENSION_TYPES.brotliDecompressor]: 'br',
  [EXTENSION_TYPES.zstdDecompressor]: 'zstd',
};

/** A direction's common_config: enabled (a RuntimeFeatureFlag's default_value; default on), ignore_no_transform_header. */
function common(v: unknown, path: string): { enabled: boolean; ignoreNoTransform: boolean } {
  const o = optObj(v, path) ?? {};
  return {
    enabled: featureFlag(o['enabled'], at(path, 'enabled')),
    ignoreNoTransform: o['ignore_no_transform_header'] === true,
  };
}

export function decompressorConfig(o: Obj, path: string): DecompressorConfig {
  const lpath = at(path, 'decompressor_library');
  const library = reqObj(o['decompressor_library'], lpath);
  const typed = reqObj(library['typed_config'], at(lpath, 'typed_config'));
  const type = anyTypeName(typed);
  const coding = LIBRARIES[type];
  if (coding === undefined)
    fail(
      at(lpath, 'typed_config'),
      `unsupported decompressor library ${type || '(no type)'}: expected gzip, brotli or zstd`,
    );
  const tpath = at(lpath, 'typed_config');
  if (objList(typed['dictionaries'], at(tpath, 'dictionaries')).length > 0)
    fail(at(tpath, 'dictionaries'), 'zstd dictionaries are not supported by the sidecar');
  const request = optObj(o['request_direction_config'], at(path, 'request_direction_config')) ?? {};
  const rpath = at(path, 'request_direction_config');
  const response = optObj(o['response_direction_config'], at(path, 'response_direction_config')) ?? {};
  return {
    name: str(library['name']) || coding,
    coding,
    windowBits: bounded(typed['window_bits'], at(tpath, 'window_bits'), 15, 9, 15),
    chunkSize: bounded(typed['chunk_size'], at(tpath, 'chunk_size'), 4096, 4096, 65536),
    maxInflateRatio: bounded(typed['max_inflate_ratio'], at(tpath, 'max_inflate_ratio'), 100, 1, 1032),
    request: {
      ...common(request['common_config'], at(rpath, 'common_config')),
      advertiseAcceptEncoding: wrappedBool(
        request['advertise_accept_encoding'],
        at(rpath, 'advertise_accept_encoding'),
        true,
      ),
    },
    response: common(response['common_config'], at(at(path, 'response_direction_config'), 'common_config')),
  };
}
