// envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication into the model: providers (issuer, audiences, JWKS
// inline or from a file, token locations, what goes on to the app) and rules by path; what the sidecar cannot honour
// (remote JWKS: Trellis's control plane fetches jwksUri itself and sends the keys inline) is refused by name.
import { at, fail, type Obj, objList, optObj, reqObj, str, strList } from './decode-values.ts';
import type { JwtAuthnConfig, JwtProviderConfig, JwtRequirement } from './model.ts';

const MAX_DEPTH = 8;
/** Inline JWKS documents larger than this are refused (a key set is a few KB). */
const MAX_JWKS_BYTES = 1 << 20;

/** A JWKS document: JSON with a `keys` list of objects. */
export function checkJwks(text: string, path: string): void {
  if (text.length > MAX_JWKS_BYTES) fail(path, `a JWKS of at most ${MAX_JWKS_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    fail(path, `not JSON: ${(err as Error).message}`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null))
    fail(path, 'expected a JWKS: { "keys": [ … ] }');
}

function provider(name: string, o: Obj, path: string): JwtProviderConfig {
  for (const field of ['remote_jwks', 'subject_constraints', 'jwt_cache_config', 'normalize_payload_in_metadata']) {
    if (o[field] !== undefined)
      fail(
        at(path, field),
        field === 'remote_jwks'
          ? 'not supported by the sidecar: give local_jwks (Trellis fetches jwksUri at the control plane)'
          : 'not supported by the sidecar',
      );
  }
  if (o['require_expiration'] === true || o['max_lifetime'] !== undefined)
    fail(at(path, 'require_expiration'), 'not supported by the sidecar');
  const issuer = str(o['issuer']);
  const local = reqObj(o['local_jwks'], at(path, 'local_jwks'));
  const lpath = at(path, 'local_jwks');
  let jwks: JwtProviderConfig['jwks'];
  if (typeof local['inline_string'] === 'string') {
    checkJwks(local['inline_string'], at(lpath, 'inline_string'));
    jwks = { inline: local['inline_string'] };
  } else if (typeof local['filename'] === 'string' && local['filename'] !== '') jwks = { file: local['filename'] };
  else return fail(lpath, 'expected inline_string or filename');
  const fromHeaders = objList(o['from_headers'], at(path, 'from_headers')).map((h, i) => {
    const hname = str(h['name']).toLowerCase();
    if (hname === '') fail(at(at(path, 'from_headers'), i), 'name is required');
    return { name: hname, prefix: str(h['value_prefix']) };
  });
  const fromParams = strList(o['from_params'], at(path, 'from_params'));
  const fromCookies = strList(o['from_cookies'], at(path, 'from_cookies'));
  const defaults = fromHeaders.length === 0 && fromParams.length === 0 && fromCookies.length === 0;
  const claimToHeaders = objList(o['claim_to_headers'], at(path, 'claim_to_headers')).map((c, i) => {
    const cpath = at(at(path, 'claim_to_headers'), i);
    const header = str(c['header_name']).toLowerCase();
    const claim = str(c['claim_name']);
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) fail(at(cpath, 'header_name'), 'expected a header name');
    if (claim === '') fail(at(cpath, 'claim_name'), 'is required');
    return { header, claim };
  });
  const skew = Number(o['clock_skew_seconds'] ?? 60);
  if (!Number.isInteger(skew) || skew < 0 || skew > 3600)
    fail(at(path, 'clock_skew_seconds'), `expected 0 to 3600, got ${String(o['clock_skew_seconds'])}`);
  const out: JwtProviderConfig = {
    name,
    issuer,
    audiences: strList(o['audiences'], at(path, 'audiences')),
    jwks,
    // Envoy's default locations: `Authorization: Bearer <token>` and the access_token query parameter.
    fromHeaders: defaults ? [{ name: 'authorization', prefix: 'Bearer ' }] : fromHeaders,
    fromParams: defaults ? ['access_token'] : fromParams,
    fromCookies,
    forward: o['forward'] === true,
    claimToHeaders,
    clockSkewSeconds: skew,
  };
  const meta = str(o['payload_in_metadata']);
  if (meta !== '') out.payloadInMetadata = meta;
  const payloadHeader = str(o['forward_payload_header']).toLowerCase();
  if (payloadHeader !== '') out.forwardPayloadHeader = payloadHeader;
  return out;
}

function requirement(o: Obj, path: string, providers: ReadonlySet<string>, depth: number): JwtRequirement {
  if (depth > MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`);
  const set = Object.entries(o).filter(([, v]) => v !== undefined && v !== null);
  if (set.length !== 1) fail(path, 'expected one requirement');
  const [field, value] = set[0] as [string, unknown];
  const fpath = at(path, field);
  switch (field) {
    case 'provider_name': {
      const name = String(value);
      if (!providers.has(name)) fail(fpath, `no provider named ${JSON.stringify(name)}`);
      return { kind: 'provider', name };
    }
    case 'requires_any':
    case 'requires_all': {
      const list = objList(reqObj(value, fpath)['requirements'], at(fpath, 'requirements'));
      if (list.length < 2) fail(at(fpath, 'requirements'), 'expected at least two requirements');
      return {
        kind: field === 'requires_any' ? 'any' : 'all',
        of: list.map((r, i) => requirement(r, at(at(fpath, 'requirements'), i), providers, depth + 1)),
      };
    }
    case 'allow_missing':
      return { kind: 'allowMissing' };
    case 'allow_missing_or_failed':
      return { kind: 'allowMissingOrFailed' };
    default:
      return fail(fpath, 'not supported by the sidecar');
  }
}

export function jwtAuthnConfig(o: Obj, path: string): JwtAuthnConfig {
  for (const field of ['filter_state_rules', 'requirement_map', 'bypass_cors_preflight', 'stat_prefix']) {
    if (o[field] !== undefined && o[field] !== false && o[field] !== '')
      fail(at(path, field), 'not supported by the sidecar');
  }
  const map = optObj(o['providers'], at(path, 'providers')) ?? {};
  const providers = Object.keys(map)
    .sort()
    .map((name) => provider(name, reqObj(map[name], at(at(path, 'providers'), name)), at(at(path, 'providers'), name)));
  const names = new Set(providers.map((p) => p.name));
  const rules = objList(o['rules'], at(path, 'rules')).map((r, i) => {
    const rpath = at(at(path, 'rules'), i);
    const match = reqObj(r['match'], at(rpath, 'match'));
    const { prefix, path: exact, ...rest } = match;
    if (Object.values(rest).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0)))
      fail(at(rpath, 'match'), 'only prefix and path matches are supported');
    const m =
      typeof exact === 'string' && exact !== ''
        ? { kind: 'exact' as const, value: exact }
        : { kind: 'prefix' as const, value: typeof prefix === 'string' ? prefix : '' };
    const req = optObj(r['requires'], at(rpath, 'requires'));
    return req === undefined ? { match: m } : { match: m, requires: requirement(req, at(rpath, 'requires'), names, 0) };
  });
  return { providers, rules };
}
