// Envoy's v3 protos (and their xds/udpa/validate/googleapis deps) from the installed @grpc/grpc-js-xds package: read
// at run time from a descriptor (JSON, generated from the .proto files by `npm run protos:descriptor`, options
// dropped), which costs about 20 MB less per process than parsing the .proto files; parsed from them when the
// descriptor is missing or was made from other files or another package version.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Include directories holding Envoy's protos and their dependencies. */
export const protoIncludeDirs: readonly string[] = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  path.join(depsDir, d),
);

/** Proto files whose messages Trellis encodes or decodes. */
export const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto',
  'envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/compressor/v3/compressor.proto',
  'envoy/extensions/compression/gzip/compressor/v3/gzip.proto',
  'envoy/extensions/compression/brotli/compressor/v3/brotli.proto',
  'envoy/extensions/compression/zstd/compressor/v3/zstd.proto',
  'envoy/extensions/filters/http/decompressor/v3/decompressor.proto',
  'envoy/extensions/compression/gzip/decompressor/v3/gzip.proto',
  'envoy/extensions/compression/brotli/decompressor/v3/brotli.proto',
  'envoy/extensions/compression/zstd/decompressor/v3/zstd.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/cache/v3/cache.proto',
  'envoy/extensions/http/cache/simple_http_cache/v3/config.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'xds/type/v3/typed_struct.proto',
  'google/rpc/status.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/duration.proto',
];

/** Where the generated descriptor lives: beside this file in src/ (the path also holds from the compiled dist/). */
export const DESCRIPTOR_FILE = fileURLToPath(new URL('../src/envoy-descriptor.json', import.meta.url));

/** What a descriptor was made from: the file list and the proto package's version. */
export function descriptorFingerprint(): string {
  const version = (require('@grpc/grpc-js-xds/package.json') as { version: string }).version;
  return createHash('sha256')
    .update(JSON.stringify({ files: FILES, version }))
    .digest('hex')
    .slice(0, 16);
}

/** The root parsed from the .proto files (every option kept). */
export function loadFromProtos(): protobuf.Root {
  // Envoy's option annotations extend descriptor.proto: register it as a well-known file, as proto-loader does.
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as {
    nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } };
  };
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested ?? {});
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (path.isAbsolute(target)) return target;
    for (const dir of protoIncludeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return null;
  };
  root.loadSync(FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Drops every option but `packed` (the only one encoding reads): validation rules and annotations weigh megabytes. */
function withoutOptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutOptions);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'options') out[key] = withoutOptions(value);
    else if (typeof value === 'object' && value !== null && 'packed' in value)
      out[key] = { packed: (value as { packed: unknown }).packed };
  }
  return out;
}

/** The descriptor of the .proto files: `{ fingerprint, root }` (what `npm run protos:descriptor` writes). */
export function buildDescriptor(): { fingerprint: string; root: unknown } {
  return {
    fingerprint: descriptorFingerprint(),
    root: withoutOptions(loadFromProtos().toJSON({ keepComments: false })),
  };
}

function load(): protobuf.Root {
  if (existsSync(DESCRIPTOR_FILE)) {
    const descriptor = JSON.parse(readFileSync(DESCRIPTOR_FILE, 'utf8')) as {
      fingerprint: string;
      root: protobuf.INamespace;
    };
    if (descriptor.fingerprint === descriptorFingerprint()) {
      const root = protobuf.Root.fromJSON(descriptor.root);
      root.resolveAll();
      return root;
    }
  }
  return loadFromProtos();
}

/** The shared Root; field names keep the proto's snake_case, as in Envoy's JSON/YAML docs. */
export const xdsRoot: protobuf.Root = load();

/** A message type by fully qualified name (with or without a leading dot); throws when unknown. */
export function lookupType(name: string): protobuf.Type {
  return xdsRoot.lookupType(name.startsWith('.') ? name.slice(1) : name);
}
