// The Envoy extension message types Trellis writes and reads inside Any fields (typed_config), by one name each.

/** Message type names; the type URL is `type.googleapis.com/<name>` (typeUrl). */
export const EXTENSION_TYPES = {
  httpConnectionManager: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'envoy.extensions.filters.http.router.v3.Router',
  fault: 'envoy.extensions.filters.http.fault.v3.HTTPFault',
  localRateLimit: 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  networkLocalRateLimit: 'envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
  compressor: 'envoy.extensions.filters.http.compressor.v3.Compressor',
  compressorPerRoute: 'envoy.extensions.filters.http.compressor.v3.CompressorPerRoute',
  gzipCompressor: 'envoy.extensions.compression.gzip.compressor.v3.Gzip',
  brotliCompressor: 'envoy.extensions.compression.brotli.compressor.v3.Brotli',
  zstdCompressor: 'envoy.extensions.compression.zstd.compressor.v3.Zstd',
  decompressor: 'envoy.extensions.filters.http.decompressor.v3.Decompressor',
  gzipDecompressor: 'envoy.extensions.compression.gzip.decompressor.v3.Gzip',
  brotliDecompressor: 'envoy.extensions.compression.brotli.decompressor.v3.Brotli',
  zstdDecompressor: 'envoy.extensions.compression.zstd.decompressor.v3.Zstd',
  cors: 'envoy.extensions.filters.http.cors.v3.Cors',
  corsPolicy: 'envoy.extensions.filters.http.cors.v3.CorsPolicy',
  cache: 'envoy.extensions.filters.http.cache.v3.CacheConfig',
  /** A custom extension's config: its own type URL and a Struct (how Trellis ships what has no Envoy proto). */
  typedStruct: 'xds.type.v3.TypedStruct',
  /** A filter written in TypeScript (inside a TypedStruct): { name, source, config, timeout_ms }. */
  typescriptFilter: 'trellis.filters.v1.TypeScriptFilter',
  /** A route's override of a TypeScript filter (inside a TypedStruct): { disabled, config }. */
  typescriptFilterPerRoute: 'trellis.filters.v1.TypeScriptFilterPerRoute',
  simpleHttpCache: 'envoy.extensions.http.cache.simple_http_cache.v3.SimpleHttpCacheConfig',
  upstreamTlsContext: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstreamTlsContext: 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  rawBuffer: 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  tlsInspector: 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  rbac: 'envoy.extensions.filters.http.rbac.v3.RBAC',
  rbacPerRoute: 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  networkRbac: 'envoy.extensions.filters.network.rbac.v3.RBAC',
  jwtAuthn: 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
} as const;

/** The type URL of a message type name. */
export function typeUrl(typeName: string): string {
  return `type.googleapis.com/${typeName}`;
}
