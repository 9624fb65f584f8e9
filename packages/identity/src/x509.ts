// X.509 for the mesh CA and the sidecar's identity agent: @peculiar/x509 with its reflect polyfill loaded first and
// node:crypto's WebCrypto as its provider. A subpath of its own (`@trellis/identity/x509`): a process without mTLS
// never loads it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** A WebCrypto signature algorithm, in node:crypto's webcrypto types. */
export type SignatureAlgorithm =
  | webcrypto.AlgorithmIdentifier
  | webcrypto.EcdsaParams
  | webcrypto.RsaHashedImportParams;

/** The key pair type x509's generators take (node's webcrypto keys, typed as the DOM's). */
export type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
