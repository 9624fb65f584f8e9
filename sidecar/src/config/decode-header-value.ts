// Decodes a header mutation value as Envoy reads it: a substitution format (`%%` a percent sign, `%OPERATOR%` a value
// rendered per request), compiled once into literal text and the few command operators the sidecar renders.
import { fail } from './decode-values.ts';
import type { HeaderValueOperator, HeaderValuePart } from './model.ts';

const OPERATORS: ReadonlySet<string> = new Set<HeaderValueOperator>([
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT',
  'HOSTNAME',
]);

/**
 * A `header.value` of request_headers_to_add / response_headers_to_add at `path`: its literal value, plus the parts
 * to render when it has command operators. Operators are only rendered in request headers; an unknown operator, one
 * in a response header or a lone `%` is refused (Envoy refuses the last two kinds as well).
 */
export function headerValue(
  raw: string,
  path: string,
  request: boolean,
): { value: string; format?: readonly HeaderValuePart[] } {
  if (raw.indexOf('%') < 0) return { value: raw };
  const parts: HeaderValuePart[] = [];
  let literal = '';
  let i = 0;
  while (i < raw.length) {
    const pct = raw.indexOf('%', i);
    if (pct < 0) {
      literal += raw.slice(i);
      break;
    }
    literal += raw.slice(i, pct);
    const close = raw.indexOf('%', pct + 1);
    if (close < 0) fail(path, `a lone % at position ${pct} (write %% for a percent sign)`);
    const name = raw.slice(pct + 1, close);
    i = close + 1;
    if (name === '') {
      literal += '%';
      continue;
    }
    if (!OPERATORS.has(name)) {
      fail(
        path,
        `unsupported command operator %${name}% (supported: ${[...OPERATORS].join(', ')}; %% for a percent sign)`,
      );
    }
    if (!request) fail(path, `command operator %${name}% is only supported in request headers`);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ operator: name as HeaderValueOperator });
  }
  if (parts.length === 0) return { value: literal };
  if (literal !== '') parts.push(literal);
  return { value: raw, format: parts };
}
