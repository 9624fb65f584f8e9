// Compiles an Envoy StringMatcher into a predicate once, at route-table build time.
import type { StringMatcher } from '../config/model.ts';

export type StringPredicate = (value: string) => boolean;

/** Anchors a regex so it must match the whole input (Envoy safe_regex semantics), dropping stateful flags. */
export function fullMatchRegex(regex: RegExp): RegExp {
  return new RegExp(`^(?:${regex.source})$`, regex.flags.replace(/[gy]/g, ''));
}

export function compileStringMatcher(m: StringMatcher): StringPredicate {
  if (m.kind === 'regex') {
    const re = fullMatchRegex(m.regex);
    return (v) => re.test(v);
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
