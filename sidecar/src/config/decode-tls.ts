// Envoy TLS transport sockets as the sidecar runs them: UpstreamTlsContext (clusters, per endpoint by
// transport_socket_matches), DownstreamTlsContext (listener filter chains); the workload certificate is the secret
// `default` the sidecar holds itself, the trust bundle a Secret read over ADS (SDS) or inline.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import {
  anyTypeName,
  at,
  fail,
  isObj,
  type Obj,
  objList,
  optObj,
  reqObj,
  str,
  strList,
  structToJson,
  wrappedBool,
} from './decode-values.ts';
import type {
  DownstreamTlsConfig,
  SanMatcher,
  TlsContextConfig,
  TransportSocketMatch,
  TrustSource,
  UpstreamTlsConfig,
} from './model.ts';

/** The workload certificate's secret name (the sidecar's own, from the mesh CA). */
export const WORKLOAD_SECRET = 'default';
const TLS_SOCKET = 'envoy.transport_sockets.tls';
const RAW_SOCKET = 'envoy.transport_sockets.raw_buffer';

const VERSIONS: Readonly<Record<string, 'TLSv1.2' | 'TLSv1.3'>> = {
  TLS_AUTO: 'TLSv1.2',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

function sanMatchers(v: unknown, path: string): SanMatcher[] {
  return objList(v, path).map((m, i) => {
    const mpath = at(path, i);
    const type = str(m['san_type'], 'SAN_TYPE_UNSPECIFIED');
    if (type !== 'URI') fail(at(mpath, 'san_type'), `only URI SANs (SPIFFE ids) are matched, got ${type}`);
    const matcher = reqObj(m['matcher'], at(mpath, 'matcher'));
    if (typeof matcher['exact'] === 'string') return { exact: matcher['exact'] };
    if (typeof matcher['prefix'] === 'string') return { prefix: matcher['prefix'] };
    return fail(at(mpath, 'matcher'), 'expected exact or prefix');
  });
}

/** PEM roots of a validation context's trusted_ca (inline_bytes or inline_string). */
export function trustedCaOf(ca: Obj, path: string): string {
  let pem: string;
  const bytes = ca['inline_bytes'];
  // bytes arrive base64 in JSON form, as a Uint8Array inside an expanded Any.
  if (typeof bytes === 'string') pem = Buffer.from(bytes, 'base64').toString('utf8');
  else if (bytes instanceof Uint8Array) pem = Buffer.from(bytes).toString('utf8');
  else if (typeof ca['inline_string'] === 'string') pem = ca['inline_string'];
  else return fail(path, 'expected inline_bytes or inline_string (PEM roots)');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(path, 'holds no PEM certificate');
  return pem;
}

/** An SdsSecretConfig the sidecar can read: a name, and over ADS (the only secret source it has). */
function adsSecretName(o: Obj, path: string): string {
  const name = str(o['name']);
  if (name === '') fail(at(path, 'name'), 'expected a secret name');
  const sds = reqObj(o['sds_config'], at(path, 'sds_config'));
  if (!isObj(sds['ads'])) fail(at(path, 'sds_config'), 'the sidecar reads secrets over ADS only (sds_config.ads)');
  return name;
}

/**
 * Where the roots come from: validation_context (inline trusted_ca), validation_context_sds_secret_config (a Secret
 * over ADS), or combined_validation_context (SAN matchers here, roots from the Secret), with the SAN matchers.
 */
function validation(c: Obj, cpath: string): { trust: TrustSource; sans: SanMatcher[] } {
  const given = ['validation_context', 'validation_context_sds_secret_config', 'combined_validation_context'].filter(
    (f) => c[f] !== undefined,
  );
  if (given.length !== 1)
    fail(
      cpath,
      'expected one of validation_context, validation_context_sds_secret_config, combined_validation_context',
    );
  if (c['validation_context'] !== undefined) {
    const vpath = at(cpath, 'validation_context');
    const v = reqObj(c['validation_context'], vpath);
    const trustedCa = trustedCaOf(reqObj(v['trusted_ca'], at(vpath, 'trusted_ca')), at(vpath, 'trusted_ca'));
    return {
      trust: { inline: trustedCa },
      sans: sanMatchers(v['match_typed_subject_alt_names'], at(vpath, 'match_typed_subject_alt_names')),
    };
  }
  if (c['validation_context_sds_secret_config'] !== undefined) {
    const spath = at(cpath, 'validation_context_sds_secret_config');
    return {
      trust: { secret: adsSecretName(reqObj(c['validation_context_sds_secret_config'], spath), spath) },
      sans: [],
    };
  }
  const kpath = at(cpath, 'combined_validation_context');
  const k = reqObj(c['combined_validation_context'], kpath);
  const dpath = at(kpath, 'default_validation_context');
  const d = optObj(k['default_validation_context'], dpath) ?? {};
  for (const field of Object.keys(d)) {
    if (field !== 'match_typed_subject_alt_names')
      fail(at(dpath, field), 'not supported by the sidecar (the roots come from the secret; SAN matchers go here)');
  }
  const spath = at(kpath, 'validation_context_sds_secret_config');
  return {
    trust: { secret: adsSecretName(reqObj(k['validation_context_sds_secret_config'], spath), spath) },
    sans: sanMatchers(d['match_typed_subject_alt_names'], at(dpath, 'match_typed_subject_alt_names')),
  };
}

function commonTlsContext(o: Obj, path: string): TlsContextConfig {
  const c = reqObj(o['common_tls_context'], at(path, 'common_tls_context'));
  const cpath = at(path, 'common_tls_context');
  for (const field of ['tls_certificates', 'tls_certificate_provider_instance']) {
    if (c[field] !== undefined)
      fail(at(cpath, field), `not supported by the sidecar (its certificate is the secret "${WORKLOAD_SECRET}")`);
  }
  const spath = at(cpath, 'tls_certificate_sds_secret_configs');
  const secrets = objList(c['tls_certificate_sds_secret_configs'], spath);
  if (secrets.length !== 1 || str(secrets[0]?.['name']) !== WORKLOAD_SECRET)
    fail(spath, `expected the one workload certificate secret "${WORKLOAD_SECRET}"`);
  if (secrets[0]?.['sds_config'] !== undefined)
    fail(
      at(at(spath, 0), 'sds_config'),
      "the workload certificate is the sidecar's own (its key never leaves it): give the name only",
    );
  const params = optObj(c['tls_params'], at(cpath, 'tls_params'));
  const versionName = str(params?.['tls_minimum_protocol_version'], 'TLS_AUTO');
  const minVersion =
    VERSIONS[versionName] ??
    fail(
      at(at(cpath, 'tls_params'), 'tls_minimum_protocol_version'),
      `expected TLSv1_2 or TLSv1_3, got ${versionName}`,
    );
  return { alpn: strList(c['alpn_protocols'], at(cpath, 'alpn_protocols')), minVersion, ...validation(c, cpath) };
}

/** The secrets a TLS context reads over ADS (its trust bundle's). */
export function secretsOf(config: TlsContextConfig): string[] {
  return 'secret' in config.trust ? [config.trust.secret] : [];
}

/** A transport socket: plaintext (undefined) or an UpstreamTlsContext. */
function upstreamSocket(o: Obj | undefined, path: string): UpstreamTlsConfig | undefined {
  if (o === undefined) return undefined;
  const typed = optObj(o['typed_config'], at(path, 'typed_config'));
  const type = typed === undefined ? undefined : anyTypeName(typed);
  if (type === undefined || type === EXTENSION_TYPES.rawBuffer) {
    if (str(o['name'], RAW_SOCKET) !== RAW_SOCKET && type === undefined)
      fail(path, `unsupported transport socket ${str(o['name'])}`);
    return undefined;
  }
  if (type !== EXTENSION_TYPES.upstreamTlsContext)
    fail(at(path, 'typed_config'), `unsupported transport socket ${type}`);
  const tpath = at(path, 'typed_config');
  const t = typed as Obj;
  const sni = str(t['sni']);
  return { ...commonTlsContext(t, tpath), ...(sni === '' ? {} : { sni }) };
}

/** A cluster's transport_socket or transport_socket_matches, as matches tried in order (empty: plaintext). */
export function clusterTransport(o: Obj): TransportSocketMatch[] {
  const single = optObj(o['transport_socket'], 'transport_socket');
  const matches = objList(o['transport_socket_matches'], 'transport_socket_matches');
  if (single !== undefined && matches.length > 0)
    fail('transport_socket_matches', 'give transport_socket or transport_socket_matches, not both');
  if (single !== undefined) {
    const tls = upstreamSocket(single, 'transport_socket');
    return tls === undefined ? [] : [{ match: {}, tls }];
  }
  return matches.map((m, i) => {
    const path = at('transport_socket_matches', i);
    const match: Record<string, string> = {};
    for (const [k, v] of Object.entries(structToJson(m['match']))) {
      if (typeof v !== 'string') fail(at(path, 'match'), `expected string values, got ${JSON.stringify(v)} for ${k}`);
      match[k] = v;
    }
    const tls = upstreamSocket(
      optObj(m['transport_socket'], at(path, 'transport_socket')),
      at(path, 'transport_socket'),
    );
    return { match, ...(tls === undefined ? {} : { tls }) };
  });
}

/** The TLS of an endpoint: the first match whose entries its transport-socket-match metadata all has. */
export function endpointTls(
  matches: readonly TransportSocketMatch[],
  metadata: Readonly<Record<string, string>> | undefined,
): UpstreamTlsConfig | undefined {
  for (const m of matches) {
    if (Object.entries(m.match).every(([k, v]) => metadata?.[k] === v)) return m.tls;
  }
  return undefined;
}

/** A filter chain's transport socket: plaintext (undefined) or a DownstreamTlsContext. */
export function downstreamSocket(o: Obj | undefined, path: string): DownstreamTlsConfig | undefined {
  if (o === undefined) return undefined;
  const typed = optObj(o['typed_config'], at(path, 'typed_config'));
  const type = typed === undefined ? undefined : anyTypeName(typed);
  if (type === undefined || type === EXTENSION_TYPES.rawBuffer) return undefined;
  if (type !== EXTENSION_TYPES.downstreamTlsContext)
    fail(at(path, 'typed_config'), `unsupported transport socket ${type}`);
  const t = typed as Obj;
  const tpath = at(path, 'typed_config');
  if (t['require_sni'] !== undefined && wrappedBool(t['require_sni'], at(tpath, 'require_sni'), false))
    fail(at(tpath, 'require_sni'), 'not supported by the sidecar');
  return {
    ...commonTlsContext(t, tpath),
    requireClientCertificate: wrappedBool(
      t['require_client_certificate'],
      at(tpath, 'require_client_certificate'),
      false,
    ),
  };
}

export const TRANSPORT_SOCKET_NAMES = { tls: TLS_SOCKET, raw: RAW_SOCKET } as const;
