// RE2 regular expressions from configuration (Envoy safe_regex): RE2's own syntax check, then matching in time
// linear in the input with re2js (a port of RE2: one-pass, lazy DFA, bit-state and NFA engines, no backtracking).
import { type Matcher, RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';
import type { Re2Rewrite } from './rewrite.ts';

/** Searches of one replaceAll may read this many times its input (plus the slack) in all. */
export const REWRITE_SCAN_FACTOR = 8;
export const REWRITE_SCAN_SLACK = 262_144;

/** A compiled RE2 pattern. Every method runs in time linear in its input; none can backtrack. */
export class Re2 {
  /** The pattern as configured (also what a config dump shows, through toJSON). */
  readonly source: string;
  /** How many capturing groups the pattern has (a rewrite may refer to \0 up to this). */
  readonly groups: number;
  readonly #re: RE2JS;

  constructor(source: string, re: RE2JS) {
    this.source = source;
    this.#re = re;
    this.groups = re.groupCount();
  }

  /** Whether the whole input matches (RE2::FullMatch: Envoy's route, header, query and cookie matchers). */
  fullMatch(input: string): boolean {
    return this.#re.testExact(input);
  }

  /** Whether some part of the input matches (RE2::PartialMatch). */
  partialMatch(input: string): boolean {
    return this.#re.test(input);
  }

  /**
   * Replaces every non-overlapping match, as RE2::GlobalReplace (Envoy's regex_rewrite): an empty match right where
   * the previous match ended is skipped, so `a*` over `baaac` with `-` gives `-b-c-`.
   *
   * Each search is linear, but a search may read far past the match it finds (`a(.*c)?` over `aaaa…` reads to the
   * end for every `a`), so the searches together could be quadratic. They are bounded: once the text they may read
   * adds up to more than REWRITE_SCAN_FACTOR times the input plus REWRITE_SCAN_SLACK, the rewrite gives up and
   * returns undefined: a half-rewritten path is never produced (the sidecar refuses such a request with 400).
   * Inputs up to 512 characters never reach the bound, nor does a rewrite with up to 8 matches.
   */
  replaceAll(input: string, rewrite: Re2Rewrite): string | undefined {
    const m = this.#re.matcher(input);
    const budget = REWRITE_SCAN_FACTOR * input.length + REWRITE_SCAN_SLACK;
    let scanned = 0;
    let out = '';
    let copied = 0;
    let from = 0;
    let lastEnd = -1;
    while (from <= input.length) {
      scanned += input.length - from;
      if (scanned > budget && from > 0) return undefined;
      if (!m.find(from)) break;
      const start = m.start();
      const end = m.end();
      if (start === end && start === lastEnd) {
        from = start + charLength(input, start);
        continue;
      }
      out += input.slice(copied, start) + expand(rewrite, m);
      copied = end;
      lastEnd = end;
      from = end;
    }
    return out + input.slice(copied);
  }

  toJSON(): string {
    return this.source;
  }
}

/** The code units of the character at `i` (2 for a surrogate pair), at least 1 so a scan always moves on. */
function charLength(s: string, i: number): number {
  const c = s.codePointAt(i);
  return c !== undefined && c > 0xffff ? 2 : 1;
}

function expand(rewrite: Re2Rewrite, m: Matcher): string {
  let out = '';
  for (const part of rewrite.parts) out += typeof part === 'string' ? part : (m.group(part) ?? '');
  return out;
}

/** RE2 refuses these Perl constructs with a terse message; say what they are. */
const HINTS: readonly [RegExp, string][] = [
  [/^\(\?[=!]/, 'lookahead is not supported by RE2'],
  [/^\(\?<[=!]/, 'lookbehind is not supported by RE2'],
  [/^\\[1-9k]/, 'backreferences are not supported by RE2'],
  [/^\(\?P$/, 'RE2 accepts only (?P<name>…) here: no (?P=name) backreferences'],
  [/^\(\?>/, 'atomic groups are not supported by RE2'],
];

function describe(err: RE2JSSyntaxException): string {
  const input = err.getPattern();
  const reason = input === null || input === '' ? err.error : `${err.error}: \`${input}\``;
  const hint = input === null ? undefined : HINTS.find(([re]) => re.test(input))?.[1];
  return hint === undefined ? reason : `${reason} (${hint})`;
}

/**
 * Compiles an RE2 pattern with RE2's default (Perl-like, UTF-8) syntax, or says why RE2 refuses it: lookarounds,
 * backreferences, possessive or atomic constructs, counts above 1000, unknown escapes or classes.
 */
export function compileRe2(pattern: string): { regex: Re2 } | { error: string } {
  try {
    return { regex: new Re2(pattern, RE2JS.compile(pattern)) };
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) return { error: describe(err) };
    if (err instanceof RE2JSException) return { error: err.message };
    throw err;
  }
}

/** compileRe2 for patterns known to be valid (tests, fixed patterns); throws otherwise. */
export function mustCompileRe2(pattern: string): Re2 {
  const r = compileRe2(pattern);
  if ('error' in r) throw new Error(`invalid RE2 regex ${JSON.stringify(pattern)}: ${r.error}`);
  return r.regex;
}
