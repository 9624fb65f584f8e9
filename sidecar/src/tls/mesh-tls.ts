// Mesh TLS for the data path: secure contexts from the workload certificate (rebuilt when it rotates) and a config's
// trust bundle (inline, or the SDS secret it names, followed when it changes), TLS client options that verify the
// peer's SPIFFE id, and the server side's peer check.
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { DownstreamTlsConfig, SanMatcher, TlsContextConfig, UpstreamTlsConfig } from '../config/model.ts';
import type { WorkloadCertificate } from './workload-identity.ts';

/** Where the workload certificate comes from (the sidecar's WorkloadIdentity). */
export interface CertificateSource {
  readonly current: WorkloadCertificate | undefined;
}

/** The URI SANs of a certificate (node's `subjectaltname` text, `URI:a, DNS:b`). */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(', ')) if (part.startsWith('URI:')) out.push(part.slice(4));
  return out;
}

/** Whether one of the URIs satisfies one of the matchers (no matchers: any). */
export function sanMatches(uris: readonly string[], matchers: readonly SanMatcher[]): boolean {
  if (matchers.length === 0) return true;
  return uris.some((u) => matchers.some((m) => ('exact' in m ? u === m.exact : u.startsWith(m.prefix))));
}

/** The PEM roots of a trust bundle secret received over SDS; undefined while it has not arrived. */
export type TrustBundles = (secret: string) => string | undefined;

/** Secure contexts kept per certificate (distinct bundle × minimum version pairs: a handful in practice). */
const MAX_CONTEXTS = 16;

export class MeshTls {
  readonly #source: CertificateSource;
  readonly #bundles: TrustBundles;
  /** Secure contexts by trust bundle and minimum version, for the certificate they were made with. */
  #contexts = new Map<string, tls.SecureContext>();
  #madeFor: WorkloadCertificate | undefined;

  constructor(source: CertificateSource, bundles: TrustBundles) {
    this.#source = source;
    this.#bundles = bundles;
  }

  /** A context's roots now: inline, or its secret's current content (a new bundle takes effect on new connections). */
  roots(config: TlsContextConfig): string | undefined {
    return 'inline' in config.trust ? config.trust.inline : this.#bundles(config.trust.secret);
  }

  /** The context for `config`'s roots with the current certificate; undefined while either is missing. */
  #context(config: TlsContextConfig): tls.SecureContext | undefined {
    const cert = this.#source.current;
    const roots = this.roots(config);
    if (cert === undefined || roots === undefined) return undefined;
    if (cert !== this.#madeFor) {
      // A rotation: new connections take the new certificate; open ones keep theirs.
      this.#contexts = new Map();
      this.#madeFor = cert;
    }
    const key = `${config.minVersion}\n${roots}`;
    let context = this.#contexts.get(key);
    if (context === undefined) {
      if (this.#contexts.size >= MAX_CONTEXTS) this.#contexts.clear();
      context = tls.createSecureContext({
        key: cert.keyPem,
        cert: cert.chainPem.join('\n'),
        ca: roots,
        minVersion: config.minVersion,
      });
      this.#contexts.set(key, context);
    }
    return context;
  }

  /** Options for tls.connect to an upstream of `config`; undefined while the certificate or the roots are missing. */
  client(config: UpstreamTlsConfig): tls.ConnectionOptions | undefined {
    const secureContext = this.#context(config);
    if (secureContext === undefined) return undefined;
    return {
      secureContext,
      ALPNProtocols: config.alpn,
      ...(config.sni === undefined ? {} : { servername: config.sni }),
      rejectUnauthorized: true,
      // The peer is a workload: its SPIFFE id, not a host name, is what it must prove.
      checkServerIdentity: (_host, cert) =>
        sanMatches(uriSans(cert.subjectaltname), config.sans)
          ? undefined
          : new Error(
              `upstream certificate ${uriSans(cert.subjectaltname).join(',') || '(no URI SAN)'} is not the expected identity`,
            ),
    };
  }

  /**
   * tls.Server options for a listener's TLS (the certificate, the roots, the client certificate rule), and the
   * certificate and roots they hold (new ones after a rotation); undefined while either is missing.
   */
  server(
    config: DownstreamTlsConfig,
  ): { options: tls.TlsOptions; cert: WorkloadCertificate; roots: string } | undefined {
    const cert = this.#source.current;
    const roots = this.roots(config);
    if (cert === undefined || roots === undefined) return undefined;
    return {
      cert,
      roots,
      options: {
        key: cert.keyPem,
        cert: cert.chainPem.join('\n'),
        ca: roots,
        minVersion: config.minVersion,
        requestCert: true,
        rejectUnauthorized: config.requireClientCertificate,
        ...(config.alpn.length > 0 ? { ALPNProtocols: config.alpn } : {}),
      },
    };
  }
}

/**
 * Whether a TLS client is accepted: no certificate only when none is required; a certificate only when it verified
 * against the trust bundle (`authorized`: tls.Server lets an unverified one through when client certificates are
 * optional) and carries an accepted identity.
 */
export function peerAccepted(
  peer: X509Certificate | undefined,
  authorized: boolean,
  config: DownstreamTlsConfig,
): boolean {
  if (peer === undefined) return !config.requireClientCertificate;
  return authorized && sanMatches(uriSans(peer.subjectAltName), config.sans);
}
