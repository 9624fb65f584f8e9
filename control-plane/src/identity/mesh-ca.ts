// The mesh CA: a self-signed root generated on first start and kept in the data dir (key mode 0600), or an
// intermediate from operator files (a plug-in CA, Istio's cacerts layout); signs workload CSRs with a SPIFFE URI SAN.
import {
  createHash,
  createPrivateKey,
  type KeyObject,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseSpiffeId, spiffeId, type WorkloadIdentity } from '@trellis/identity';
import {
  type KeyPair,
  type Pkcs10CertificateRequest,
  type SignatureAlgorithm,
  type X509Certificate,
  x509,
} from '@trellis/identity/x509';

/** The root a first start generates: ECDSA P-256, ten years. */
const ROOT_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3600_000;
/** Workload certificates start this long before they are issued (clocks of the mesh disagree a little). */
const BACKDATE_MS = 60_000;

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;
export const MAX_WORKLOAD_TTL_MS = 90 * 24 * 3600_000;
/** The shortest lifetime a workload may ask for (rotation runs at half-life). */
export const MIN_WORKLOAD_TTL_MS = 60_000;

/** The generated root's files under the data dir. */
export const ROOT_CERT_FILE = path.join('ca', 'root-cert.pem');
export const ROOT_KEY_FILE = path.join('ca', 'root-key.pem');
/** A plug-in CA directory's files (as Istio's cacerts secret). */
export const PLUGIN_FILES = {
  cert: 'ca-cert.pem',
  key: 'ca-key.pem',
  chain: 'cert-chain.pem',
  root: 'root-cert.pem',
} as const;

export interface MeshCaOptions {
  /** SPIFFE trust domain of every identity this CA issues (e.g. cluster.local). */
  trustDomain: string;
  /** Where a generated root is kept (`<dataDir>/ca/`); without one and without a plug-in, the root lives in memory. */
  dataDir?: string;
  /** An operator-provided intermediate (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem). */
  pluginDir?: string;
  /** Lifetime of a workload certificate that asks for none (default 24 h). */
  defaultTtlMs?: number;
  /** The longest lifetime a workload may get (default 90 days). */
  maxTtlMs?: number;
  /** The shortest (default 1 minute; tests of rotation go lower). */
  minTtlMs?: number;
  now?: () => number;
}

export interface IssuedCertificate {
  /** PEM: the workload certificate, then the issuer's chain (up to the root, included for a plug-in CA's chain file). */
  chain: string[];
  spiffeId: string;
  notAfter: Date;
}

/** What a CA signs with: its certificate, key and the signature algorithm that key takes. */
interface Signer {
  cert: X509Certificate;
  key: CryptoKey;
  algorithm: SignatureAlgorithm;
  /** The chain above the signer (intermediates to the root), PEM. */
  chainAbove: string[];
}

function pemOf(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`;
}

function fingerprint(pem: string): string {
  return new NodeX509(pem).fingerprint256;
}

/** Every PEM certificate in a text, in order. */
export function splitPemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((p) => p.trim()) ?? [];
}

/** The WebCrypto signing key and signature algorithm for a PEM private key (EC P-256/P-384, RSA). */
async function signingKey(pem: string, file: string): Promise<{ key: CryptoKey; algorithm: SignatureAlgorithm }> {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${file}: not a PEM private key (${(err as Error).message})`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (namedCurve === undefined) throw new Error(`${file}: EC curve ${curve} is not supported (P-256 or P-384)`);
    const hash = namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384';
    const cryptoKey = key.toCryptoKey({ name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key: cryptoKey, algorithm: { name: 'ECDSA', hash } as webcrypto.EcdsaParams };
  }
  if (type === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: key.toCryptoKey(algorithm, false, ['sign']), algorithm };
  }
  throw new Error(`${file}: ${type} keys are not supported (EC P-256/P-384 or RSA)`);
}

/** A private key file must be the owner's alone, as ssh demands. */
function checkKeyMode(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new Error(`${file} is readable by others (mode ${mode.toString(8)}): chmod 600 ${file}`);
}

async function generateRoot(trustDomain: string, now: number): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ROOT_ALGORITHM, true, ['sign', 'verify'])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: `O=${trustDomain}, CN=Trellis mesh root CA`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_LIFETIME_MS),
    signingAlgorithm: ROOT_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: pemOf(pkcs8, 'PRIVATE KEY') };
}

export class MeshCa {
  readonly trustDomain: string;
  /** The roots workloads trust (PEM): the generated root, or the plug-in's root-cert.pem. */
  readonly trustBundle: readonly string[];
  readonly #signer: Signer;
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #minTtlMs: number;
  readonly #now: () => number;
  readonly #signerIsRoot: boolean;
  /** The root the signer chains to (PEM): the end of the control plane's own TLS chain, pinned by join tokens. */
  #anchor: string;

  private constructor(opts: MeshCaOptions, signer: Signer, trustBundle: string[]) {
    this.trustDomain = opts.trustDomain;
    this.#signer = signer;
    this.trustBundle = trustBundle;
    const own = new NodeX509(signer.cert.toString('pem')).fingerprint256;
    this.#signerIsRoot = trustBundle.some((p) => new NodeX509(p).fingerprint256 === own);
    this.#anchor = trustBundle.find((p) => new NodeX509(p).fingerprint256 === own) ?? (trustBundle[0] as string);
    this.#defaultTtlMs = opts.defaultTtlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    this.#maxTtlMs = opts.maxTtlMs ?? MAX_WORKLOAD_TTL_MS;
    this.#minTtlMs = opts.minTtlMs ?? MIN_WORKLOAD_TTL_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** Loads the plug-in CA, else the data dir's root (generated on first start), else a root in memory. */
  static async open(opts: MeshCaOptions): Promise<MeshCa> {
    const now = (opts.now ?? Date.now)();
    if (opts.pluginDir !== undefined) return MeshCa.#plugin(opts, opts.pluginDir, now);
    if (opts.dataDir === undefined) {
      const root = await generateRoot(opts.trustDomain, now);
      return MeshCa.#fromFiles(opts, root.cert, root.key, 'the in-memory root', [], [root.cert]);
    }
    const certFile = path.join(opts.dataDir, ROOT_CERT_FILE);
    const keyFile = path.join(opts.dataDir, ROOT_KEY_FILE);
    if (!existsSync(certFile) && !existsSync(keyFile)) {
      const root = await generateRoot(opts.trustDomain, now);
      mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
      writeFileSync(keyFile, root.key, { mode: 0o600, flag: 'wx' });
      chmodSync(keyFile, 0o600);
      writeFileSync(certFile, root.cert, { mode: 0o644, flag: 'wx' });
    }
    if (!existsSync(certFile) || !existsSync(keyFile))
      throw new Error(`${path.dirname(certFile)} holds only one of root-cert.pem and root-key.pem`);
    checkKeyMode(keyFile);
    const cert = readFileSync(certFile, 'utf8');
    return MeshCa.#fromFiles(opts, cert, readFileSync(keyFile, 'utf8'), keyFile, [], splitPemCertificates(cert));
  }

  static async #plugin(opts: MeshCaOptions, dir: string, now: number): Promise<MeshCa> {
    const file = (name: string): string => {
      const p = path.join(dir, name);
      if (!existsSync(p)) throw new Error(`plug-in CA: ${p} is missing`);
      return p;
    };
    const keyFile = file(PLUGIN_FILES.key);
    checkKeyMode(keyFile);
    const cert = readFileSync(file(PLUGIN_FILES.cert), 'utf8');
    const roots = splitPemCertificates(readFileSync(file(PLUGIN_FILES.root), 'utf8'));
    const chainPath = path.join(dir, PLUGIN_FILES.chain);
    const chain = existsSync(chainPath) ? splitPemCertificates(readFileSync(chainPath, 'utf8')) : [];
    // The chain file, as Istio's, may start with the CA certificate itself and end with the root: neither goes twice.
    const skip = new Set([cert, ...roots].map((p) => fingerprint(p)));
    const above = chain.filter((c) => !skip.has(fingerprint(c)));
    const ca = await MeshCa.#fromFiles(opts, cert, readFileSync(keyFile, 'utf8'), keyFile, above, roots);
    ca.#checkPlugin(now);
    return ca;
  }

  static async #fromFiles(
    opts: MeshCaOptions,
    certPem: string,
    keyPem: string,
    keyFile: string,
    chainAbove: string[],
    trustBundle: string[],
  ): Promise<MeshCa> {
    const first = splitPemCertificates(certPem)[0];
    if (first === undefined) throw new Error(`the CA certificate next to ${keyFile} holds no PEM certificate`);
    const cert = new x509.X509Certificate(first);
    const { key, algorithm } = await signingKey(keyPem, keyFile);
    // The key must be the certificate's: a mismatch would issue certificates nothing can verify.
    const nodeCert = new NodeX509(first);
    if (!nodeCert.checkPrivateKey(createPrivateKey(keyPem)))
      throw new Error(`${keyFile} is not the key of the CA certificate beside it`);
    if (trustBundle.length === 0) throw new Error('the CA has no root certificate to trust');
    return new MeshCa(opts, { cert, key, algorithm, chainAbove }, trustBundle);
  }

  /** A plug-in intermediate must be a CA, valid now, and chain to one of the roots. */
  #checkPlugin(now: number): void {
    const cert = new NodeX509(this.#signer.cert.toString('pem'));
    if (!cert.ca) throw new Error('plug-in CA: ca-cert.pem is not a CA certificate (basicConstraints CA:TRUE)');
    if (Date.parse(cert.validTo) <= now) throw new Error(`plug-in CA: ca-cert.pem expired on ${cert.validTo}`);
    const chain = [cert, ...this.#signer.chainAbove.map((p) => new NodeX509(p))];
    const issuedBy = (child: NodeX509, parent: NodeX509): boolean =>
      child.checkIssued(parent) && child.verify(parent.publicKey);
    for (let i = 0; i + 1 < chain.length; i++) {
      if (!issuedBy(chain[i] as NodeX509, chain[i + 1] as NodeX509))
        throw new Error(`plug-in CA: cert-chain.pem is out of order or broken at certificate ${i + 1}`);
    }
    const top = chain[chain.length - 1] as NodeX509;
    const anchor = this.trustBundle.find((p) => issuedBy(top, new NodeX509(p)));
    if (anchor !== undefined) this.#anchor = anchor;
    else throw new Error('plug-in CA: ca-cert.pem (with cert-chain.pem) does not chain to root-cert.pem');
  }

  /**
   * The identity of a workload certificate this CA issued and that is valid now (a renewal's proof); otherwise why
   * not, as a message for the caller.
   */
  verifyIssued(cert: NodeX509): WorkloadIdentity | string {
    const signer = new NodeX509(this.#signer.cert.toString('pem'));
    if (!cert.checkIssued(signer) || !cert.verify(signer.publicKey)) return 'not issued by this mesh CA';
    const now = this.#now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) <= now)
      return `not valid now (until ${cert.validTo})`;
    if (cert.ca) return 'a CA certificate is not a workload identity';
    const identity = certificateIdentity(cert);
    if (identity === undefined) return 'no workload SPIFFE id (URI SAN)';
    if (identity.trustDomain !== this.trustDomain)
      return `trust domain ${identity.trustDomain} is not ${this.trustDomain}`;
    return identity;
  }

  /** SHA-256 (hex) of the DER of the root this CA chains to: what join tokens pin for the control plane's TLS. */
  get anchorSha256(): string {
    return createHash('sha256').update(new NodeX509(this.#anchor).raw).digest('hex');
  }

  /** When the CA's own certificate expires: no workload certificate outlives it. */
  get notAfter(): Date {
    return this.#signer.cert.notAfter;
  }

  /**
   * Signs a workload's CSR for `identity`: the CSR gives only its public key (its signature is checked, its subject
   * and SANs are ignored); the certificate carries the identity's SPIFFE id as its one, critical, URI SAN and lives
   * `ttlSeconds` (0: the default), within the maximum and the CA's own lifetime. Throws with a message for the caller.
   */
  async sign(csrPem: string, identity: WorkloadIdentity, ttlSeconds: number): Promise<IssuedCertificate> {
    if (identity.trustDomain !== this.trustDomain)
      throw new Error(`identity is in trust domain ${identity.trustDomain}, the CA's is ${this.trustDomain}`);
    const uri = spiffeId(identity);
    let csr: Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new Error('csr: not a PEM PKCS#10 certificate request');
    }
    if (!(await csr.verify())) throw new Error('csr: its signature does not verify with its own key');
    const asked = ttlSeconds > 0 ? ttlSeconds * 1000 : this.#defaultTtlMs;
    const ttl = Math.max(this.#minTtlMs, Math.min(asked, this.#maxTtlMs));
    const { leaf, notAfter } = await this.#issue(csr.publicKey, uri, ttl);
    // A root signer is in every workload's trust bundle already; an intermediate goes with the leaf.
    const { cert: caCert, chainAbove } = this.#signer;
    const above = this.#signerIsRoot ? chainAbove : [caCert.toString('pem'), ...chainAbove];
    return { chain: [leaf, ...above], spiffeId: uri, notAfter };
  }

  /**
   * A key made here and a certificate for `identity` (the control plane's own, for its xDS TLS port): the chain goes
   * up to and includes the anchoring root, so a sidecar holding only the root's hash (its join token's pin) finds it.
   */
  async issueWithKey(
    identity: WorkloadIdentity,
    ttlMs: number,
  ): Promise<{ keyPem: string; chain: string[]; notAfter: Date }> {
    const keys = (await webcrypto.subtle.generateKey(ROOT_ALGORITHM, true, ['sign', 'verify'])) as unknown as KeyPair;
    const ttl = Math.max(this.#minTtlMs, Math.min(ttlMs, this.#maxTtlMs));
    const { leaf, notAfter } = await this.#issue(keys.publicKey, spiffeId(identity), ttl);
    const { cert: caCert, chainAbove } = this.#signer;
    const above = this.#signerIsRoot ? chainAbove : [caCert.toString('pem'), ...chainAbove];
    const chain = [leaf, ...above];
    const anchor = new NodeX509(this.#anchor).fingerprint256;
    if (!chain.some((p) => new NodeX509(p).fingerprint256 === anchor)) chain.push(this.#anchor);
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { keyPem: pemOf(pkcs8, 'PRIVATE KEY'), chain, notAfter };
  }

  /** A leaf for `publicKey` with `uri` as its one critical URI SAN, living ttlMs (within the CA's own lifetime). */
  async #issue(
    publicKey: Pkcs10CertificateRequest['publicKey'] | CryptoKey,
    uri: string,
    ttl: number,
  ): Promise<{ leaf: string; notAfter: Date }> {
    const now = this.#now();
    const notAfter = new Date(Math.min(now + ttl, this.#signer.cert.notAfter.getTime()));
    const { cert: caCert, key, algorithm } = this.#signer;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `O=${this.trustDomain}`,
      issuer: caCert.subjectName,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter,
      signingAlgorithm: algorithm,
      publicKey,
      signingKey: key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    return { leaf: leaf.toString('pem'), notAfter };
  }
}

/** The identity in a workload certificate's SPIFFE URI SAN, when it has exactly one. */
export function certificateIdentity(cert: NodeX509): WorkloadIdentity | undefined {
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  return uris.length === 1 ? parseSpiffeId(uris[0] as string) : undefined;
}
