// Validates a TrafficPolicy's compression: the codings in order of preference, the minimum size, the media types.
import { field, type Issues, UINT32_MAX } from './issues.ts';

export const COMPRESSION_ENCODINGS = ['br', 'gzip', 'zstd'] as const;
/** A media type without parameters (RFC 9110 §8.3.1): type/subtype tokens. */
const MEDIA_TYPE = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/i;

export function validateCompression(value: unknown, path: string, issues: Issues): void {
  const c = issues.object(value, path, ['encodings', 'minBytes', 'contentTypes']);
  if (!c) return;
  if (c['encodings'] !== undefined) {
    const encodings = issues.list(c['encodings'], field(path, 'encodings'), COMPRESSION_ENCODINGS.join(', '), true);
    const seen = new Set<unknown>();
    encodings?.forEach((e, i) => {
      const at = field(field(path, 'encodings'), i);
      if (!issues.oneOf(e, at, COMPRESSION_ENCODINGS)) return;
      if (seen.has(e)) issues.add(at, `duplicate encoding ${String(e)}`);
      seen.add(e);
    });
  }
  if (c['minBytes'] !== undefined) issues.integer(c['minBytes'], field(path, 'minBytes'), 0, UINT32_MAX);
  if (c['contentTypes'] !== undefined) {
    const types = issues.list(c['contentTypes'], field(path, 'contentTypes'), 'media types such as text/html', true);
    types?.forEach((t, i) => {
      if (typeof t !== 'string' || !MEDIA_TYPE.test(t))
        issues.expected(field(field(path, 'contentTypes'), i), 'a media type such as text/html, without parameters', t);
    });
  }
}
