// Validates a TrafficPolicy's responseCache: the largest body stored and the extra headers responses may vary on.
import { field, type Issues } from './issues.ts';

/** The sidecar's store holds 64 MiB per connection manager: no one body may be larger. */
export const MAX_CACHED_BODY = 64 * 1024 * 1024;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function validateResponseCache(value: unknown, path: string, issues: Issues): void {
  const c = issues.object(value, path, ['maxBodyBytes', 'varyHeaders']);
  if (!c) return;
  if (c['maxBodyBytes'] !== undefined)
    issues.integer(c['maxBodyBytes'], field(path, 'maxBodyBytes'), 1, MAX_CACHED_BODY);
  if (c['varyHeaders'] !== undefined) {
    const names = issues.list(c['varyHeaders'], field(path, 'varyHeaders'), 'lower-case header names');
    names?.forEach((n, i) => {
      if (typeof n !== 'string' || !HEADER_NAME.test(n))
        issues.expected(field(field(path, 'varyHeaders'), i), 'a lower-case header name such as accept-language', n);
    });
  }
}
