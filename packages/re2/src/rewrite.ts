// RE2 rewrite strings (Envoy regex_rewrite.substitution): \0 is the whole match, \1..\9 a group, \\ a backslash.
import type { Re2 } from './re2.ts';

/** A checked rewrite: literal text and group numbers, in order. */
export interface Re2Rewrite {
  /** The substitution as configured. */
  readonly source: string;
  readonly parts: readonly (string | number)[];
}

/**
 * Parses a substitution for `regex` as RE2::CheckRewriteString does: a backslash must be followed by a digit or a
 * backslash, and a group number may not exceed the pattern's groups (RE2::GlobalReplace would replace nothing).
 */
export function compileRe2Rewrite(substitution: string, regex: Re2): { rewrite: Re2Rewrite } | { error: string } {
  const parts: (string | number)[] = [];
  let text = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i] as string;
    if (c !== '\\') {
      text += c;
      continue;
    }
    const n = substitution[++i];
    if (n === '\\') {
      text += n;
    } else if (n !== undefined && n >= '0' && n <= '9') {
      const group = Number(n);
      if (group > regex.groups) {
        return {
          error: `\\${group} refers to group ${group} but the pattern has ${regex.groups === 0 ? 'no groups' : `only ${regex.groups}`}`,
        };
      }
      if (text !== '') parts.push(text);
      parts.push(group);
      text = '';
    } else {
      return { error: `invalid rewrite: a backslash must be followed by a digit or a backslash, got \\${n ?? ''}` };
    }
  }
  if (text !== '') parts.push(text);
  return { rewrite: { source: substitution, parts } };
}
