// Trusting the control plane before holding a certificate: the join token pins the root the control plane's TLS chain
// ends in (its SHA-256); the sidecar fetches that chain once, keeps the root whose hash matches (kubeadm's discovery
// token CA hash), and from then on verifies the control plane with it and checks its SPIFFE id.
import { createHash, X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { type ChannelCredentials, credentials, experimental } from '@grpc/grpc-js';
import {
  CONTROL_PLANE_TLS_NAME,
  controlPlaneSpiffeId,
  type JoinTokenHints,
  type MemoryCertificateProvider,
} from '@trellis/identity';
import type { ConfigSource } from '../config/config-source.ts';
import type { SidecarConfig, TlsContextConfig } from '../config/model.ts';

export interface ControlPlaneTrust {
  /** The pinned root (PEM). */
  rootPem: string;
  /** The SPIFFE id the control plane's certificate must carry. */
  serverId: string;
}

const PROBE_TIMEOUT_MS = 5000;

/** host and port of 'host:port' or '[v6]:port'. */
function hostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (m === null) throw new Error(`${address}: expected host:port`);
  return { host: m[1] as string, port: Number(m[2]) };
}

/** Every certificate the peer presented, leaf first (the detailed chain ends where a certificate issued itself). */
function presented(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<PeerCertificate>();
  for (
    let c: DetailedPeerCertificate | undefined = leaf;
    c?.raw !== undefined && !seen.has(c);
    c = c.issuerCertificate
  ) {
    seen.add(c);
    out.push(c.raw);
  }
  return out;
}

/** One TLS handshake (not verified: what it yields is checked against the pin) to learn the presented chain. */
function probe(address: string): Promise<Buffer[]> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: CONTROL_PLANE_TLS_NAME,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy(new Error(`${address}: no TLS handshake within 5 s`)));
    socket.once('secureConnect', () => {
      const chain = presented(socket.getPeerCertificate(true));
      socket.destroy();
      resolve(chain);
    });
    socket.once('error', (err) => reject(new Error(`${address}: ${err.message}`)));
  });
}

/** The root whose hash the token pins, from the first control plane that presents it; throws naming each failure. */
export async function discoverControlPlaneTrust(
  addresses: readonly string[],
  hints: JoinTokenHints,
): Promise<ControlPlaneTrust> {
  const errors: string[] = [];
  for (const address of addresses) {
    try {
      const chain = await probe(address);
      const root = chain.find((der) => createHash('sha256').update(der).digest('hex') === hints.caSha256);
      if (root === undefined) {
        errors.push(
          `${address}: its TLS chain does not end in the CA the join token pins (another mesh's control plane?)`,
        );
        continue;
      }
      const cert = new X509Certificate(root);
      if (!cert.ca) {
        errors.push(`${address}: the pinned certificate is not a CA`);
        continue;
      }
      return { rootPem: cert.toString(), serverId: controlPlaneSpiffeId(hints.trustDomain) };
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  throw new Error(errors.join('; '));
}

/** node:tls's server check, replaced: the control plane's certificate must carry its SPIFFE id (no host names). */
export function checkControlPlaneIdentity(
  serverId: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uris = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:'));
    if (uris.length === 1 && uris[0] === `URI:${serverId}`) return undefined;
    return new Error(`the xDS server's certificate is not ${serverId} (got ${uris.join(', ') || 'no SPIFFE id'})`);
  };
}

/**
 * TLS to the control plane without a client certificate (certificate requests: the first with a join token, renewals
 * with the held certificate's proof), trusting the pinned root, or what `provider` trusts (see followTrustBundle).
 */
export function bootstrapCredentials(
  trust: ControlPlaneTrust,
  provider?: MemoryCertificateProvider,
): ChannelCredentials {
  const checkServerIdentity = checkControlPlaneIdentity(trust.serverId);
  if (provider === undefined)
    return credentials.createSsl(Buffer.from(trust.rootPem), null, null, { checkServerIdentity });
  return experimental.createCertificateProviderChannelCredentials(provider, null, { checkServerIdentity });
}

/**
 * mTLS to the control plane with the workload certificate, for ADS: `provider` is fed every rotation, so every new
 * connection shows the newest certificate (and trusts the newest bundle).
 */
export function workloadCredentials(trust: ControlPlaneTrust, provider: MemoryCertificateProvider): ChannelCredentials {
  return experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: checkControlPlaneIdentity(trust.serverId),
  });
}

/** Every PEM certificate of a text, trimmed. */
function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * The mesh trust bundle a configuration carries (the roots its listeners' and clusters' TLS contexts trust: inline,
 * or the SDS secret they name), deduplicated.
 */
export function meshRootsOf(config: SidecarConfig): string[] {
  const roots = new Set<string>();
  const add = (context: TlsContextConfig): void => {
    const pem = 'inline' in context.trust ? context.trust.inline : config.secrets.get(context.trust.secret)?.trustedCa;
    for (const p of pemCertificates(pem ?? '')) roots.add(p);
  };
  for (const l of config.listeners.values()) if (l.tls !== undefined) add(l.tls.context);
  for (const c of config.clusters.values())
    for (const m of c.transportSockets ?? []) if (m.tls !== undefined) add(m.tls);
  return [...roots];
}

/**
 * What the sidecar trusts the control plane with: the root its join token pinned until the control plane sends the
 * mesh trust bundle (over a channel that root authenticated), then that bundle. A root rotation adds the new root to
 * the bundle before the control plane's own certificate moves to it, and drops the old one last: the sidecar follows
 * it across control-plane restarts, and trusts the old root no more once the mesh does not.
 */
export function followTrustBundle(
  trust: ControlPlaneTrust,
  provider: MemoryCertificateProvider,
  source: ConfigSource,
): () => void {
  let current = '';
  const apply = (config: SidecarConfig): void => {
    const bundle = meshRootsOf(config);
    const roots = bundle.length > 0 ? bundle : pemCertificates(trust.rootPem);
    const key = roots.join('\n');
    if (key === current) return;
    current = key;
    provider.setTrustBundle(roots);
  };
  apply(source.current());
  return source.onChange(apply);
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * The control plane's trust, retried with backoff until a control plane presents the pinned root (it may start after
 * the sidecar); the retry timer keeps the process alive meanwhile.
 */
export async function trustControlPlane(
  addresses: readonly string[],
  hints: JoinTokenHints,
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void },
): Promise<ControlPlaneTrust> {
  for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      const trust = await discoverControlPlaneTrust(addresses, hints);
      logger.info({ serverId: trust.serverId, ca: hints.caSha256 }, 'control plane CA found (the join token pins it)');
      return trust;
    } catch (err) {
      logger.warn({ err: (err as Error).message, retryInMs: delay }, 'no control plane presents the pinned CA yet');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
