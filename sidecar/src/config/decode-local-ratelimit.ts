// Decodes envoy.filters.http.local_ratelimit's LocalRateLimit (filter config and per-route override) into the model.
import { lookupType } from '@trellis/xds-protos';
import { fraction } from './decode-fault.ts';
import { at, durationMs, fail, num, type Obj, objList, optObj, str, wrappedBool, wrappedNum } from './decode-values.ts';
import type { Fraction, LocalRateLimitConfig, TokenBucketSpec } from './model.ts';

const STATUS_CODES = lookupType('envoy.type.v3.HttpStatus').fields['code']?.resolvedType as
  | { values: Readonly<Record<string, number>> }
  | undefined;

/** Fields the sidecar does not implement: refused (a NACK naming the field), never silently ignored. */
const UNSUPPORTED: readonly string[] = [
  'request_headers_to_add_when_not_enforced',
  'response_headers_to_add',
  'stage',
  'local_rate_limit_per_downstream_connection',
  'local_cluster_rate_limit',
];

/** envoy.config.core.v3.RuntimeFractionalPercent: its default_value (runtime keys are not read); unset is 0 %. */
function runtimeFraction(v: unknown, path: string): Fraction {
  const o = optObj(v, path);
  if (o === undefined) return { numerator: 0, denominator: 100 };
  return fraction(o['default_value'], at(path, 'default_value'));
}

function status(v: unknown, path: string): number {
  const o = optObj(v, path);
  if (o === undefined) return 429;
  const raw = o['code'];
  const code =
    typeof raw === 'string' && !/^\d+$/.test(raw) ? STATUS_CODES?.values[raw] : num(raw, at(path, 'code'), 0);
  if (code === undefined || !Number.isInteger(code) || code > 599)
    fail(at(path, 'code'), `expected an HTTP status, got ${JSON.stringify(raw)}`);
  // Envoy: a status under 400 is not a refusal; 429 is used instead.
  return code < 400 ? 429 : code;
}

/** A TokenBucket: max_tokens ≥ 1, tokens_per_fill ≥ 1 (default 1), fill_interval ≥ 50 ms. */
export function tokenBucketOf(bucket: Obj, bpath: string): TokenBucketSpec {
  const maxTokens = num(bucket['max_tokens'], at(bpath, 'max_tokens'), 0);
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    fail(at(bpath, 'max_tokens'), `expected at least 1, got ${maxTokens}`);
  const tokensPerFill = wrappedNum(bucket['tokens_per_fill'], at(bpath, 'tokens_per_fill'), 1);
  if (!Number.isInteger(tokensPerFill) || tokensPerFill < 1)
    fail(at(bpath, 'tokens_per_fill'), `expected at least 1, got ${tokensPerFill}`);
  if (bucket['fill_interval'] === undefined) fail(at(bpath, 'fill_interval'), 'is required');
  const fillIntervalMs = durationMs(bucket['fill_interval'], at(bpath, 'fill_interval'), 0);
  // Envoy's bound: a fill interval under 50 ms would be a timer storm.
  if (fillIntervalMs < 50) fail(at(bpath, 'fill_interval'), `expected at least 50ms, got ${fillIntervalMs}ms`);
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

export function localRateLimitConfig(o: Obj, path: string): LocalRateLimitConfig {
  for (const field of UNSUPPORTED) {
    const v = o[field];
    const unset = v === undefined || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
    if (!unset) fail(at(path, field), 'is not supported by the sidecar');
  }
  const headers = o['enable_x_ratelimit_headers'] ?? 'OFF';
  if (headers !== 'OFF' && headers !== 0 && headers !== 'DRAFT_VERSION_03' && headers !== 1)
    fail(at(path, 'enable_x_ratelimit_headers'), `expected OFF or DRAFT_VERSION_03, got ${JSON.stringify(headers)}`);
  const vh = o['vh_rate_limits'];
  if (vh !== undefined && vh !== 'OVERRIDE' && vh !== 0)
    fail(at(path, 'vh_rate_limits'), 'is not supported by the sidecar');
  const statPrefix = str(o['stat_prefix']);
  if (statPrefix === '') fail(at(path, 'stat_prefix'), 'is required');
  const bucket = optObj(o['token_bucket'], at(path, 'token_bucket'));
  const tokenBucket = bucket === undefined ? undefined : tokenBucketOf(bucket, at(path, 'token_bucket'));
  const descriptors = objList(o['descriptors'], at(path, 'descriptors')).map((d, i) => {
    const dpath = at(at(path, 'descriptors'), i);
    const entries = objList(d['entries'], at(dpath, 'entries')).map((e, j) => {
      const key = str(e['key']);
      if (key === '') fail(at(at(at(dpath, 'entries'), j), 'key'), 'is required');
      return { key, value: str(e['value']) };
    });
    if (entries.length === 0) fail(at(dpath, 'entries'), 'needs at least one entry');
    const b = optObj(d['token_bucket'], at(dpath, 'token_bucket'));
    if (b === undefined) fail(at(dpath, 'token_bucket'), 'is required');
    return { entries, tokenBucket: tokenBucketOf(b, at(dpath, 'token_bucket')) };
  });
  const seen = new Set<string>();
  for (const [i, d] of descriptors.entries()) {
    const key = JSON.stringify(d.entries);
    if (seen.has(key))
      fail(at(at(path, 'descriptors'), i), 'duplicate descriptor (the same entries as an earlier one)');
    seen.add(key);
  }
  return {
    statPrefix,
    tokenBucket,
    enabled: runtimeFraction(o['filter_enabled'], at(path, 'filter_enabled')),
    enforced: runtimeFraction(o['filter_enforced'], at(path, 'filter_enforced')),
    status: status(o['status'], at(path, 'status')),
    resourceExhausted: o['rate_limited_as_resource_exhausted'] === true,
    rateLimitHeaders: headers === 'DRAFT_VERSION_03' || headers === 1,
    descriptors,
    alwaysConsumeDefault: wrappedBool(
      o['always_consume_default_token_bucket'],
      at(path, 'always_consume_default_token_bucket'),
      true,
    ),
  };
}
