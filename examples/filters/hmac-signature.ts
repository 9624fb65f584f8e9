// An HMAC request-signature check, written as a Trellis TypeScript filter: a request must carry
// `x-signature: <hex HMAC-SHA-256 of "<method>\n<path><query>\n<x-timestamp>\n<body>">` made with the shared secret,
// and an `x-timestamp` (Unix seconds) no more than `maxSkewSeconds` old; anything else is answered 401 before it
// reaches the app. Config: { secret: string, maxSkewSeconds: number }.
import type { FilterContext, FilterRequest, TrellisFilter } from '@trellis/filter-api';

interface HmacConfig {
  secret: string;
  maxSkewSeconds: number;
}

/** Compares two hex strings in time independent of where they differ. */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const filter: TrellisFilter = {
  onRequest(req: FilterRequest, ctx: FilterContext) {
    const { secret, maxSkewSeconds } = ctx.config as HmacConfig;
    const signature = req.header('x-signature');
    const timestamp = req.header('x-timestamp');
    if (signature === undefined || timestamp === undefined) {
      ctx.count('unsigned');
      return { status: 401, body: 'signature required', headers: { 'www-authenticate': 'HMAC-SHA256' } };
    }
    const age = Math.abs(Date.now() / 1000 - Number(timestamp));
    if (!(age <= maxSkewSeconds)) {
      ctx.count('stale');
      return { status: 401, body: 'stale or bad timestamp' };
    }
    const payload = `${req.method}\n${req.path}${req.query}\n${timestamp}\n${req.body ?? ''}`;
    if (!sameHex(signature.toLowerCase(), ctx.hmacSha256Hex(secret, payload))) {
      ctx.count('bad_signature');
      return { status: 401, body: 'bad signature' };
    }
    ctx.count('verified');
    return undefined;
  },
};

export default filter;
