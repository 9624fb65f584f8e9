// Envoy access-log command operators (`%RESPONSE_CODE%`, `%REQ(X-ID):16%`) that Trellis sidecars can render, and a checker.

/** Operators without an argument. */
const PLAIN = [
  'PROTOCOL',
  'RESPONSE_CODE',
  'RESPONSE_FLAGS',
  'BYTES_RECEIVED',
  'BYTES_SENT',
  'DURATION',
  'UPSTREAM_HOST',
  'UPSTREAM_CLUSTER',
  'DOWNSTREAM_REMOTE_ADDRESS',
  'ROUTE_NAME',
  'GRPC_STATUS',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'TRACE_ID',
  'CONNECTION_ID',
  'HOSTNAME',
  'DOWNSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'GRPC_STATUS_NUMBER',
  'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_LOCAL_URI_SAN',
] as const;

/** Operators with a required header argument: `%REQ(x-request-id)%`, `%RESP(content-type):32%`. */
const WITH_HEADER = ['REQ', 'RESP'] as const;

/** START_TIME takes an optional strftime-style format: `%START_TIME%`, `%START_TIME(%s)%`. */
const WITH_OPTIONAL_FORMAT = ['START_TIME'] as const;

/** The operators as the docs and error messages list them. */
export const ACCESS_LOG_OPERATORS: readonly string[] = ['START_TIME', 'REQ(header)', 'RESP(header)', ...PLAIN];

const NAME = /[A-Z_]/;
/** A header name as the sidecar reads it (lower-cased): an RFC 9110 token, or an HTTP/2 pseudo-header. */
const HEADER_NAME = /^:?[a-z0-9!#$&'*+.^_`|~-]+$/;
/** The strftime subset the sidecar renders in %START_TIME(…)%. */
const TIME_SPECS = /%([YmdHMSsz%]|[1-9]f)/g;

/**
 * Checks one format string; returns the problems (empty when every `%…%` is a supported operator). Text outside
 * operators is literal; a lone `%` is an error (Envoy has no escape for it in JSON formats either).
 */
export function accessLogFormatErrors(text: string): string[] {
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('%', i);
    if (start < 0) break;
    let j = start + 1;
    while (j < text.length && NAME.test(text[j] as string)) j++;
    const name = text.slice(start + 1, j);
    let arg: string | undefined;
    if (text[j] === '(') {
      const close = text.indexOf(')', j);
      if (close < 0) {
        errors.push(`unterminated "(" in ${JSON.stringify(text.slice(start))}`);
        return errors;
      }
      arg = text.slice(j + 1, close);
      j = close + 1;
    }
    if (text[j] === ':') {
      j++;
      const digits = j;
      while (j < text.length && /\d/.test(text[j] as string)) j++;
      if (j === digits) errors.push(`expected a maximum length after ":" in %${name}%`);
    }
    if (text[j] !== '%') {
      errors.push(`unterminated command operator ${JSON.stringify(text.slice(start, j + 1))} (expected %NAME%)`);
      return errors;
    }
    const problem = operatorProblem(name, arg);
    if (problem !== undefined) errors.push(problem);
    i = j + 1;
  }
  return errors;
}

function operatorProblem(name: string, arg: string | undefined): string | undefined {
  const shown = arg === undefined ? `%${name}%` : `%${name}(${arg})%`;
  if ((WITH_HEADER as readonly string[]).includes(name)) {
    if (arg === undefined || arg.trim() === '') return `${shown} needs a header name, e.g. %${name}(x-request-id)%`;
    const names = arg.split('?').map((n) => n.trim().toLowerCase());
    if (names.length > 2 || names.some((n) => !HEADER_NAME.test(n)))
      return `${shown} expects HEADER or HEADER?ALTERNATIVE (header names are tokens)`;
    return undefined;
  }
  if ((WITH_OPTIONAL_FORMAT as readonly string[]).includes(name)) {
    if (arg?.replace(TIME_SPECS, '').includes('%'))
      return `${shown}: supported time specifiers are %Y %m %d %H %M %S %s %z %1f-%9f and %%`;
    return undefined;
  }
  if ((PLAIN as readonly string[]).includes(name)) {
    return arg === undefined ? undefined : `%${name}% takes no argument, got ${shown}`;
  }
  return `unknown command operator ${shown}, expected one of ${ACCESS_LOG_OPERATORS.join(', ')}`;
}
