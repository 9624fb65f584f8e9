// Compiles an Envoy StringMatcher into a predicate once, at route-table build time.
import type { StringMatcher } from '../../config/model.ts';

export type StringPredicate = (value: string) => boolean;

export function compileStringMatcher(m: StringMatcher): StringPredicate {
  if (m.kind === 'regex') {
    const re = m.regex;
    return (v) => re.fullMatch(v); // Envoy safe_regex: the whole value, in linear time (RE2).
  }
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (m.kind) {
    case 'exact':
      return (v) => norm(v) === want;
    case 'prefix':
      return (v) => norm(v).startsWith(want);
    case 'suffix':
      return (v) => norm(v).endsWith(want);
    case 'contains':
      return (v) => norm(v).includes(want);
  }
}
