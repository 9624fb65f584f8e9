// RequestAuthentication → the envoy.filters.http.jwt_authn filter of a service's inbound (pure): one provider per JWT
// rule, keys inline (a jwksUri's as the control plane last fetched them; none yet: an empty set, so tokens fail and
// requests without one pass), and one rule: any provider's valid token, or no token at all.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { JwtRule, RequestAuthenticationResource } from '../resources/types.ts';
import { JWT_METADATA } from './authorization.ts';
import { byString } from './names.ts';

type Obj = Record<string, unknown>;

/** What a JWKS URI not fetched (yet) stands for: no key, so every token fails verification. */
export const NO_KEYS = '{"keys":[]}';

/** The RequestAuthentications that apply to `service` (its own and the mesh-wide ones), by name. */
export function requestAuthenticationsOf(
  all: readonly RequestAuthenticationResource[] | undefined,
  service: string,
): RequestAuthenticationResource[] {
  return (all ?? [])
    .filter((r) => r.spec.selector === undefined || r.spec.selector.service === service)
    .sort((a, b) => byString(a.metadata.name, b.metadata.name));
}

function provider(rule: JwtRule, jwks: ReadonlyMap<string, string>): Obj {
  let local: Obj;
  if (rule.jwks !== undefined) local = { inline_string: rule.jwks };
  else if (rule.jwksUri !== undefined) local = { inline_string: jwks.get(rule.jwksUri) ?? NO_KEYS };
  else local = { filename: rule.jwksFile };
  return {
    issuer: rule.issuer,
    ...(rule.audiences === undefined ? {} : { audiences: rule.audiences }),
    local_jwks: local,
    ...(rule.fromHeaders === undefined
      ? {}
      : { from_headers: rule.fromHeaders.map((h) => ({ name: h.name, value_prefix: h.prefix ?? '' })) }),
    ...(rule.fromParams === undefined ? {} : { from_params: rule.fromParams }),
    ...(rule.fromCookies === undefined ? {} : { from_cookies: rule.fromCookies }),
    forward: rule.forwardOriginalToken === true,
    payload_in_metadata: JWT_METADATA.key,
    ...(rule.outputClaimToHeaders === undefined
      ? {}
      : {
          claim_to_headers: rule.outputClaimToHeaders.map((c) => ({
            header_name: c.header.toLowerCase(),
            claim_name: c.claim,
          })),
        }),
    ...(rule.outputPayloadToHeader === undefined ? {} : { forward_payload_header: rule.outputPayloadToHeader }),
  };
}

/** The jwt_authn HTTP filter for a service's inbound; undefined when no RequestAuthentication applies. */
export function jwtAuthnHttpFilter(
  resources: readonly RequestAuthenticationResource[],
  jwks: ReadonlyMap<string, string>,
): Obj | undefined {
  const rules = resources.flatMap((r) => r.spec.jwtRules);
  if (rules.length === 0) return undefined;
  const providers: Obj = {};
  rules.forEach((rule, i) => {
    providers[`origin-${i}`] = provider(rule, jwks);
  });
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': typeUrl(EXTENSION_TYPES.jwtAuthn),
      providers,
      rules: [
        {
          match: { prefix: '/' },
          requires: {
            requires_any: {
              requirements: [...Object.keys(providers).map((name) => ({ provider_name: name })), { allow_missing: {} }],
            },
          },
        },
      ],
    },
  };
}

/** Every jwksUri the resources name (what the control plane fetches). */
export function jwksUris(resources: readonly RequestAuthenticationResource[]): Set<string> {
  const out = new Set<string>();
  for (const r of resources) for (const rule of r.spec.jwtRules) if (rule.jwksUri !== undefined) out.add(rule.jwksUri);
  return out;
}
