// Validates a Service's `sidecar` options: the Server header, concealed response headers and path normalization
// (its connection and stream limits: sidecar-limits.ts).
import type { PathWithEscapedSlashesAction, ServerHeaderTransformation } from '../types.ts';
import { field, type Issues } from './issues.ts';
import { SIDECAR_LIMIT_FIELDS, validateSidecarLimits } from './sidecar-limits.ts';

export const SERVER_HEADER_TRANSFORMATIONS: readonly ServerHeaderTransformation[] = [
  'OVERWRITE',
  'APPEND_IF_ABSENT',
  'PASS_THROUGH',
];

export const ESCAPED_SLASHES_ACTIONS: readonly PathWithEscapedSlashesAction[] = [
  'KEEP_UNCHANGED',
  'REJECT_REQUEST',
  'UNESCAPE_AND_REDIRECT',
  'UNESCAPE_AND_FORWARD',
];

const SIDECAR_FIELDS = [
  'serverName',
  'serverHeaderTransformation',
  'responseHeadersToRemove',
  'normalizePath',
  'mergeSlashes',
  'pathWithEscapedSlashesAction',
  ...SIDECAR_LIMIT_FIELDS,
];

/** A header value written as is: visible ASCII, spaces only inside. */
const HEADER_TEXT = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;
/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers a proxy needs to frame or route a response: removing them would break it (Envoy refuses some too). */
const PROTECTED = new Set(['content-length', 'content-type', 'transfer-encoding', 'connection', 'date', 'host']);

export function validateSidecarOptions(value: unknown, path: string, issues: Issues): void {
  const o = issues.object(value, path, SIDECAR_FIELDS);
  if (!o) return;
  const name = o['serverName'];
  if (name !== undefined && (typeof name !== 'string' || !HEADER_TEXT.test(name) || name.length > 256)) {
    issues.expected(field(path, 'serverName'), 'a header value (visible ASCII, at most 256 characters)', name);
  }
  if (o['serverHeaderTransformation'] !== undefined) {
    issues.oneOf(
      o['serverHeaderTransformation'],
      field(path, 'serverHeaderTransformation'),
      SERVER_HEADER_TRANSFORMATIONS,
    );
  }
  if (o['responseHeadersToRemove'] !== undefined) {
    const at = field(path, 'responseHeadersToRemove');
    const names = issues.list(o['responseHeadersToRemove'], at, 'header names');
    names?.forEach((n, i) => {
      if (typeof n !== 'string' || !HEADER_NAME.test(n))
        issues.expected(field(at, i), 'a header name such as x-powered-by', n);
      else if (PROTECTED.has(n.toLowerCase()))
        issues.add(field(at, i), `${n} cannot be removed (the response needs it)`);
    });
  }
  for (const key of ['normalizePath', 'mergeSlashes']) {
    if (o[key] !== undefined) issues.boolean(o[key], field(path, key));
  }
  if (o['pathWithEscapedSlashesAction'] !== undefined) {
    issues.oneOf(
      o['pathWithEscapedSlashesAction'],
      field(path, 'pathWithEscapedSlashesAction'),
      ESCAPED_SLASHES_ACTIONS,
    );
  }
  validateSidecarLimits(o, path, issues);
}
