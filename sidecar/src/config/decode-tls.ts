// Envoy TLS transport sockets as the sidecar runs them: UpstreamTlsContext (clusters, per endpoint by
// transport_socket_matches), DownstreamTlsContext (listener filter chains); the workload certificate is the secret
// `default` the sidecar holds itself, the trust bundle inline in the validation context.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import {
  anyTypeName,
  at,
  fail,
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

function commonTlsContext(o: Obj, path: string): TlsContextConfig {
  const c = reqObj(o['common_tls_context'], at(path, 'common_tls_context'));
  const cpath = at(path, 'common_tls_context');
  for (const field of [
    'tls_certificates',
    'tls_certificate_provider_instance',
    'combined_validation_context',
    'validation_context_sds_secret_config',
  ]) {
    if (c[field] !== undefined)
      fail(
        at(cpath, field),
        'not supported by the sidecar (the workload certificate is `default`, the trust bundle inline)',
      );
  }
  const secrets = objList(c['tls_certificate_sds_secret_configs'], at(cpath, 'tls_certificate_sds_secret_configs'));
  if (secrets.length !== 1 || str(secrets[0]?.['name']) !== WORKLOAD_SECRET)
    fail(
      at(cpath, 'tls_certificate_sds_secret_configs'),
      `expected the one workload certificate secret "${WORKLOAD_SECRET}"`,
    );
  const params = optObj(c['tls_params'], at(cpath, 'tls_params'));
  const versionName = str(params?.['tls_minimum_protocol_version'], 'TLS_AUTO');
  const minVersion =
    VERSIONS[versionName] ??
    fail(
      at(at(cpath, 'tls_params'), 'tls_minimum_protocol_version'),
      `expected TLSv1_2 or TLSv1_3, got ${versionName}`,
    );
  const v = reqObj(c['validation_context'], at(cpath, 'validation_context'));
  const vpath = at(cpath, 'validation_context');
  const ca = reqObj(v['trusted_ca'], at(vpath, 'trusted_ca'));
  let trustedCa: string;
  const bytes = ca['inline_bytes'];
  // bytes arrive base64 in JSON form, as a Uint8Array inside an expanded Any.
  if (typeof bytes === 'string') trustedCa = Buffer.from(bytes, 'base64').toString('utf8');
  else if (bytes instanceof Uint8Array) trustedCa = Buffer.from(bytes).toString('utf8');
  else if (typeof ca['inline_string'] === 'string') trustedCa = ca['inline_string'];
  else return fail(at(vpath, 'trusted_ca'), 'expected inline_bytes or inline_string (PEM roots)');
  if (!trustedCa.includes('-----BEGIN CERTIFICATE-----')) fail(at(vpath, 'trusted_ca'), 'holds no PEM certificate');
  return {
    alpn: strList(c['alpn_protocols'], at(cpath, 'alpn_protocols')),
    minVersion,
    trustedCa,
    sans: sanMatchers(v['match_typed_subject_alt_names'], at(vpath, 'match_typed_subject_alt_names')),
  };
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
