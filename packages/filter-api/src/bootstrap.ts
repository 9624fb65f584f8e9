// The script every filter sandbox starts with: the request/response objects, the per-stream state and the hashing
// helpers, all made inside the sandbox's own realm. The host passes a JSON string in (`__in`, a plain data slot) and
// gets a JSON string back as the call's result (every error caught and described inside): no object or function of
// the host enters the sandbox, and the host touches nothing the sandbox made but strings.

/** Streams whose state a sandbox keeps at most (one per request in flight; the oldest go first). */
export const MAX_STREAMS = 10_000;

export const BOOTSTRAP = `
'use strict';
// Taken before any filter code runs: a filter that replaces JSON or the entry points cannot change what they do.
const parse = JSON.parse.bind(JSON);
const stringify = JSON.stringify.bind(JSON);
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
];
function utf8(text) {
  const binary = unescape(encodeURIComponent(String(text)));
  const out = new Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
function sha256(bytes) {
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const bits = bytes.length * 8;
  const data = bytes.slice();
  data.push(0x80);
  while (data.length % 64 !== 56) data.push(0);
  const hi = Math.floor(bits / 0x100000000);
  data.push((hi >>> 24) & 255, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255);
  data.push((bits >>> 24) & 255, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255);
  const w = new Array(64);
  for (let off = 0; off < data.length; off += 64) {
    for (let i = 0; i < 16; i++)
      w[i] = (data[off + 4 * i] << 24) | (data[off + 4 * i + 1] << 16) | (data[off + 4 * i + 2] << 8) | data[off + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
  }
  const out = [];
  for (const v of h) out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  return out;
}
function hex(bytes) {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
function hmac(key, data) {
  let k = utf8(key);
  if (k.length > 64) k = sha256(k);
  while (k.length < 64) k.push(0);
  const inner = sha256(k.map((b) => b ^ 0x36).concat(utf8(data)));
  return sha256(k.map((b) => b ^ 0x5c).concat(inner));
}
const streams = new Map();
let config;
function headerOf(list, name) {
  const n = String(name).toLowerCase();
  for (let i = 0; i < list.length; i += 2) if (list[i] === n) return list[i + 1];
  return undefined;
}
function context(out, state, routeConfig) {
  return Object.freeze({
    config,
    routeConfig,
    state,
    count(name) { out.counts.push(String(name)); },
    log(message) { if (out.logs.length < 16) out.logs.push(String(message).slice(0, 1024)); },
    hmacSha256Hex(key, data) { return hex(hmac(key, data)); },
    sha256Hex(data) { return hex(sha256(utf8(data))); },
  });
}
function setter(out, headers) {
  return (name, value) => {
    const n = String(name).toLowerCase();
    const v = value === undefined || value === null ? null : String(value);
    out.set.push([n, v]);
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === n) { headers.splice(i, 2); i -= 2; }
    }
    if (v !== null) headers.push(n, v);
  };
}
function fixed(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: false, configurable: false, enumerable: false });
}
/** What went wrong, as text, made inside the sandbox (within the call's budget). */
function describe(err) {
  try {
    return String(err !== null && typeof err === 'object' && 'message' in err ? err.message : err);
  } catch {
    return 'the filter threw something that cannot be described';
  }
}
// The only slots the host reads and writes: plain data, never accessors the filter could define.
Object.defineProperty(globalThis, '__in', { value: '', writable: true, configurable: false, enumerable: false });
Object.defineProperty(globalThis, '__failure', { value: '', writable: true, configurable: false, enumerable: false });
fixed('__module', {});
/** A throw of the module's top-level code, described for the host. */
fixed('__fail', function (err) {
  globalThis.__failure = describe(err);
});
fixed('__guard', function (fn) {
  try {
    return fn();
  } catch (err) {
    return stringify({ error: describe(err) });
  }
});
fixed('__setup', function (configJson) {
  config = parse(configJson);
  const filter = __module.default;
  if (filter === null || typeof filter !== 'object') throw new TypeError('the module must export default an object with filter hooks (onRequest, onResponse, onResponseTrailers, onLog)');
  const hooks = {
    request: typeof filter.onRequest === 'function',
    response: typeof filter.onResponse === 'function',
    trailers: typeof filter.onResponseTrailers === 'function',
    log: typeof filter.onLog === 'function',
  };
  if (!hooks.request && !hooks.response && !hooks.trailers && !hooks.log)
    throw new TypeError('the default export has no hook (onRequest, onResponse, onResponseTrailers or onLog)');
  for (const key of ['onRequest', 'onResponse', 'onResponseTrailers', 'onLog'])
    if (filter[key] !== undefined && typeof filter[key] !== 'function') throw new TypeError(key + ' must be a function');
  filterObject = filter;
  return stringify({ hooks });
});
let filterObject;
fixed('__call', function (kind) {
  const input = parse(globalThis.__in);
  const out = { set: [], counts: [], logs: [] };
  let state = streams.get(input.id);
  if (state === undefined) {
    state = new Map();
    if (streams.size >= ${MAX_STREAMS}) streams.delete(streams.keys().next().value);
    streams.set(input.id, state);
  }
  const headers = input.headers;
  const ctx = context(out, state, input.routeConfig === null ? undefined : input.routeConfig);
  let result;
  if (kind === 'request') {
    const request = Object.freeze({
      method: input.method, path: input.path, query: input.query, authority: input.authority,
      clientAddress: input.clientAddress, body: input.body === null ? undefined : input.body,
      header: (name) => headerOf(headers, name), setHeader: setter(out, headers),
    });
    result = filterObject.onRequest(request, ctx);
  } else if (kind === 'response') {
    const response = Object.freeze({
      status: input.status, header: (name) => headerOf(headers, name), setHeader: setter(out, headers),
    });
    result = filterObject.onResponse(response, ctx);
  } else if (kind === 'trailers') {
    const trailers = Object.freeze({ header: (name) => headerOf(headers, name), setHeader: setter(out, headers) });
    result = filterObject.onResponseTrailers(trailers, ctx);
  } else {
    result = filterObject.onLog(Object.freeze(input.log), ctx);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function')
    throw new TypeError('filter hooks must return at once (no promises)');
  if (kind === 'request' && result !== undefined && result !== null) {
    const status = Number(result.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new TypeError('a reply needs a status 200-599');
    const replyHeaders = [];
    for (const [k, v] of Object.entries(result.headers ?? {})) replyHeaders.push(String(k).toLowerCase(), String(v));
    out.reply = { status, body: result.body === undefined ? '' : String(result.body), headers: replyHeaders };
  }
  return stringify({ ok: out });
});
fixed('__end', function () {
  streams.delete(parse(globalThis.__in).id);
  return stringify({ ok: true });
});
`;
