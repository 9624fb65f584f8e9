// Edge TLS on listeners (a gateway's): filter chains whose DownstreamTlsContext holds a certificate from files, one
// chain per set of SNI names (filter_chain_match.server_names) with the same filters, TLS 1.2 or later with AEAD
// ciphers unless the config narrows them; no client certificate (mesh mTLS is decode-tls.ts).

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
  wrappedBool,
} from './decode-values.ts';
import type { ServingCertificate, ServingTls } from './model.ts';

/** Envoy's default TLS 1.2 server ciphers (ECDHE with AEAD), as one OpenSSL list. */
export const DEFAULT_SERVING_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');

/** TLS 1.2 ciphers the sidecar accepts in a config: ECDHE key exchange with an AEAD cipher. */
const AEAD_ECDHE = /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/;

const VERSIONS: Readonly<Record<string, 'TLSv1.2' | 'TLSv1.3' | undefined>> = {
  TLS_AUTO: undefined,
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

/** Whether a chain's transport socket is edge TLS (a certificate from files), not mesh mTLS. */
export function isServingChain(chain: Obj): boolean {
  const typed = optObj(optObj(chain['transport_socket'], 'x')?.['typed_config'], 'x');
  if (typed === undefined || anyTypeName(typed) !== EXTENSION_TYPES.downstreamTlsContext) return false;
  const common = optObj(typed['common_tls_context'], 'x');
  return Array.isArray(common?.['tls_certificates']) && (common['tls_certificates'] as unknown[]).length > 0;
}

function version(v: unknown, path: string): 'TLSv1.2' | 'TLSv1.3' | undefined {
  const name = typeof v === 'string' ? v : 'TLS_AUTO';
  if (!(name in VERSIONS)) fail(path, `expected TLSv1_2 or TLSv1_3 (TLS 1.0 and 1.1 are refused), got ${name}`);
  return VERSIONS[name];
}

/** One chain's context: its certificate files, versions, ciphers, ALPN. */
function servingContext(chain: Obj, path: string): Omit<ServingTls, 'certificates'> & { cert: ServingCertificate } {
  const tpath = at(at(path, 'transport_socket'), 'typed_config');
  const typed = reqObj(reqObj(chain['transport_socket'], at(path, 'transport_socket'))['typed_config'], tpath);
  if (wrappedBool(typed['require_client_certificate'], at(tpath, 'require_client_certificate'), false))
    fail(
      at(tpath, 'require_client_certificate'),
      'not supported with certificates from files (mesh mTLS uses the workload certificate)',
    );
  for (const field of ['session_ticket_keys', 'session_ticket_keys_sds_secret_config', 'ocsp_staple_policy']) {
    if (typed[field] !== undefined) fail(at(tpath, field), 'not supported by the sidecar');
  }
  const cpath = at(tpath, 'common_tls_context');
  const common = reqObj(typed['common_tls_context'], cpath);
  for (const field of [
    'validation_context',
    'combined_validation_context',
    'validation_context_sds_secret_config',
    'tls_certificate_sds_secret_configs',
  ]) {
    if (common[field] !== undefined) fail(at(cpath, field), 'not supported with certificates from files');
  }
  const certs = objList(common['tls_certificates'], at(cpath, 'tls_certificates'));
  if (certs.length !== 1) fail(at(cpath, 'tls_certificates'), 'expected one certificate per filter chain');
  const c = certs[0] as Obj;
  const cert0 = at(at(cpath, 'tls_certificates'), 0);
  const file = (field: string): string => {
    const source = reqObj(c[field], at(cert0, field));
    const name = str(source['filename']);
    if (name === '') fail(at(cert0, field), 'expected a filename (inline certificates and keys are not taken)');
    return name;
  };
  const params = optObj(common['tls_params'], at(cpath, 'tls_params')) ?? {};
  const ppath = at(cpath, 'tls_params');
  const minVersion =
    version(params['tls_minimum_protocol_version'], at(ppath, 'tls_minimum_protocol_version')) ?? 'TLSv1.2';
  const maxVersion =
    version(params['tls_maximum_protocol_version'], at(ppath, 'tls_maximum_protocol_version')) ?? 'TLSv1.3';
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2')
    fail(ppath, 'tls_maximum_protocol_version is below the minimum');
  const suites = strList(params['cipher_suites'], at(ppath, 'cipher_suites'));
  for (const [i, suite] of suites.entries()) {
    if (!AEAD_ECDHE.test(suite))
      fail(
        at(at(ppath, 'cipher_suites'), i),
        `expected an ECDHE AEAD cipher (e.g. ECDHE-ECDSA-AES128-GCM-SHA256), got ${suite}`,
      );
  }
  if (params['ecdh_curves'] !== undefined || params['signature_algorithms'] !== undefined)
    fail(ppath, 'ecdh_curves and signature_algorithms are not supported by the sidecar');
  return {
    cert: { serverNames: [], certFile: file('certificate_chain'), keyFile: file('private_key') },
    minVersion,
    maxVersion,
    ciphers: suites.length > 0 ? suites.join(':') : DEFAULT_SERVING_CIPHERS,
    alpn: strList(common['alpn_protocols'], at(cpath, 'alpn_protocols')),
  };
}

/** A chain's SNI names (filter_chain_match.server_names, lower-cased); nothing else may be matched. */
function serverNames(chain: Obj, path: string): string[] {
  const match = optObj(chain['filter_chain_match'], at(path, 'filter_chain_match'));
  if (match === undefined) return [];
  const mpath = at(path, 'filter_chain_match');
  const { server_names: names, transport_protocol: protocol, ...rest } = match;
  if (Object.values(rest).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== ''))
    fail(mpath, 'only server_names (and transport_protocol tls) are matched on edge TLS listeners');
  if (protocol !== undefined && protocol !== '' && protocol !== 'tls')
    fail(at(mpath, 'transport_protocol'), `expected tls, got ${String(protocol)}`);
  return strList(names, at(mpath, 'server_names')).map((n, i) => {
    const lower = n.toLowerCase();
    if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(lower))
      fail(at(at(mpath, 'server_names'), i), `expected a host name or *.suffix, got ${n}`);
    return lower;
  });
}

/**
 * Every chain of an edge TLS listener: the same filters each, a certificate each, and the same versions, ciphers and
 * ALPN (one TLS server serves them all); at most one chain without server names (the default certificate).
 */
export function servingTls(chains: readonly Obj[], filtersOf: (chain: Obj) => unknown, inspector: boolean): ServingTls {
  if (chains.length > 1 && !inspector)
    fail('listener_filters', 'choosing a filter chain by server name needs envoy.filters.listener.tls_inspector');
  const certificates: ServingCertificate[] = [];
  let shared: Omit<ServingTls, 'certificates'> | undefined;
  const seen = new Set<string>();
  let defaults = 0;
  const first = JSON.stringify(filtersOf(chains[0] as Obj));
  for (const [i, chain] of chains.entries()) {
    const path = at('filter_chains', i);
    if (!isServingChain(chain))
      fail(at(path, 'transport_socket'), 'every chain of an edge TLS listener needs a certificate');
    if (JSON.stringify(filtersOf(chain)) !== first)
      fail(at(path, 'filters'), 'every chain must carry the same filters');
    const { cert, ...params } = servingContext(chain, path);
    if (shared === undefined) shared = params;
    else if (JSON.stringify(shared) !== JSON.stringify(params))
      fail(at(path, 'transport_socket'), 'every chain must use the same TLS versions, ciphers and ALPN');
    const names = serverNames(chain, path);
    if (names.length === 0 && ++defaults > 1) fail(path, 'only one chain may leave server_names empty');
    for (const n of names) {
      if (seen.has(n)) fail(at(path, 'filter_chain_match'), `server name ${n} is matched by two chains`);
      seen.add(n);
    }
    certificates.push({ ...cert, serverNames: names });
  }
  return { certificates, ...(shared as Omit<ServingTls, 'certificates'>) };
}
