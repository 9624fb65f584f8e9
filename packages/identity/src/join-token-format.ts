// The join token's wire form, `trellis-join.v1.<base64url JSON payload>.<HMAC>`: the control plane signs and checks it;
// a sidecar reads the payload's hints (trust domain, the pinned CA) before it can reach the control plane over TLS.

export const JOIN_TOKEN_PREFIX = 'trellis-join.v1.';
export const MAX_JOIN_TOKEN_CHARS = 1024;

/** The signed payload: namespace, service account, expiry (seconds), trust domain and the CA pin. */
export interface JoinTokenPayload {
  ns: string;
  sa: string;
  exp: number;
  /** The trust domain of the control plane's identity. */
  td?: string;
  /** SHA-256 (hex) of the DER of the root the control plane's TLS chain ends in: the sidecar trusts only that root. */
  ca?: string;
}

/** What a sidecar learns from its token before it can check it: needed to open TLS to the control plane. */
export interface JoinTokenHints {
  trustDomain: string;
  caSha256: string;
}

/** The payload and MAC parts of a token, or undefined when it does not have the form. */
export function splitJoinToken(token: string): { payload: string; mac: string } | undefined {
  if (token.length > MAX_JOIN_TOKEN_CHARS || !token.startsWith(JOIN_TOKEN_PREFIX)) return undefined;
  const [payload, mac, extra] = token.slice(JOIN_TOKEN_PREFIX.length).split('.');
  if (payload === undefined || mac === undefined || extra !== undefined || payload === '' || mac === '')
    return undefined;
  return { payload, mac };
}

/** The decoded payload (unverified), or undefined. */
export function decodeJoinTokenPayload(payload: string): Partial<JoinTokenPayload> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Partial<JoinTokenPayload>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The hints in a token, or why it has none (a message for the operator). */
export function joinTokenHints(token: string): JoinTokenHints | { error: string } {
  const parts = splitJoinToken(token);
  if (parts === undefined) return { error: 'not a Trellis join token (trellisctl token create makes one)' };
  const payload = decodeJoinTokenPayload(parts.payload);
  if (payload === undefined) return { error: 'malformed join token' };
  const { td, ca } = payload;
  if (typeof td !== 'string' || typeof ca !== 'string' || !/^[0-9a-f]{64}$/.test(ca))
    return {
      error:
        'the join token does not pin the control plane CA (made by an older control plane): create a new one with trellisctl token create',
    };
  return { trustDomain: td, caSha256: ca };
}
