// envoy.extensions.transport_sockets.tls.v3.Secret → SecretConfig: the trust bundles the sidecar reads over SDS. A
// secret holding a certificate is refused: the workload certificate is made in the sidecar, its key never leaves it.
import { trustedCaOf } from './decode-tls.ts';
import { at, type Decoded, decodeResource, fail, type Obj, reqObj, str } from './decode-values.ts';
import type { SecretConfig } from './model.ts';

export function decodeSecret(o: Obj, _version: string): Decoded<SecretConfig> {
  const name = str(o['name']);
  return decodeResource('secret', name, () => {
    for (const field of ['tls_certificate', 'session_ticket_keys', 'generic_secret']) {
      if (o[field] !== undefined)
        fail(field, 'the sidecar takes trust bundles only over SDS (its certificate and key are its own)');
    }
    const v = reqObj(o['validation_context'], 'validation_context');
    for (const field of Object.keys(v)) {
      if (field !== 'trusted_ca')
        fail(
          at('validation_context', field),
          "only trusted_ca (SAN matchers belong in the TLS context's default_validation_context)",
        );
    }
    return {
      name,
      trustedCa: trustedCaOf(reqObj(v['trusted_ca'], 'validation_context.trusted_ca'), 'validation_context.trusted_ca'),
    };
  });
}
