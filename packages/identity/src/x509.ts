// X.509 for the mesh CA and the sidecar's identity agent: @peculiar/x509 with its reflect polyfill loaded first and
// node:crypto's WebCrypto as its provider. A subpath of its own (`@trellis/identity/x509`): a process without mTLS
// never loads it. Both are CommonJS and loaded with require, in this order: an ES import of them would not guarantee
// the polyfill runs before tsyringe (inside @peculiar/x509) checks for it.
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

const require = createRequire(import.meta.url);
require('reflect-metadata');
export const x509 = require('@peculiar/x509') as typeof X509;

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type X509Certificate = X509.X509Certificate;
export type Pkcs10CertificateRequest = X509.Pkcs10CertificateRequest;

/** A WebCrypto signature algorithm, in node:crypto's webcrypto types. */
export type SignatureAlgorithm =
  | webcrypto.AlgorithmIdentifier
  | webcrypto.EcdsaParams
  | webcrypto.RsaHashedImportParams;

/** The key pair type x509's generators take (node's webcrypto keys, typed as the DOM's). */
export type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
