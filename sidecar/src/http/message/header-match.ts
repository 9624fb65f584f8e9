// Request header matchers (Envoy's HeaderMatcher) compiled once and tested against a request: routes and filters.
import type { HeaderMatch } from '../../config/model.ts';
import { compileStringMatcher, type StringPredicate } from './string-matcher.ts';

export interface CompiledHeaderMatch {
  name: string;
  /** undefined: presence test (`present`), else value predicate. */
  test: StringPredicate | undefined;
  present: boolean;
  invert: boolean;
}

/** What a header test reads: the request's value of a lower-case header name (pseudo headers included). */
export interface HeaderSource {
  header(name: string): string | undefined;
}

export function compileHeaderMatches(matches: readonly HeaderMatch[]): CompiledHeaderMatch[] {
  return matches.map((h) => ({
    name: h.name.toLowerCase(),
    test: h.matcher === undefined ? undefined : compileStringMatcher(h.matcher),
    present: h.present ?? true,
    invert: h.invert,
  }));
}

/** Whether every matcher accepts the request (an absent header fails a value test, passes an inverted one). */
export function headersMatch(matches: readonly CompiledHeaderMatch[], request: HeaderSource): boolean {
  for (const h of matches) {
    const value = request.header(h.name);
    let ok: boolean;
    if (value === undefined) ok = h.test === undefined && !h.present !== h.invert;
    else ok = (h.test === undefined ? h.present : h.test(value)) !== h.invert;
    if (!ok) return false;
  }
  return true;
}
