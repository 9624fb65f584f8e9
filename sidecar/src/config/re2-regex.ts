// Compiles an RE2 pattern (Envoy safe_regex) into a JS RegExp once, rejecting what RE2 itself would reject.
// JS regexes are a superset in some ways (lookarounds, backreferences: RE2 refuses them, so we do too) and spell
// some RE2 syntax differently ((?P<name>…), [[:alpha:]], \Q…\E, \z, \x{…}, leading (?i)): those are rewritten.

/** RE2's limit on a counted repetition ({n,m}). */
const MAX_REPEAT = 1000;

/** Characters that keep their backslash in a JS unicode-mode regex. */
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

class Re2Error extends Error {}

function reject(problem: string): never {
  throw new Re2Error(problem);
}

function escapeLiteral(ch: string): string {
  return JS_SYNTAX.has(ch) || ch === '-' ? `\\${ch}` : ch;
}

/** Translates one RE2 pattern to JS source plus flags; throws Re2Error for what RE2 does not accept. */
function translate(pattern: string): { source: string; flags: string; unicode: boolean } {
  let flags = '';
  let p = pattern;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(p);
  if (lead) {
    for (const f of lead[1] as string) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else reject(`unsupported flag (?${f})`);
    }
    p = p.slice(lead[0].length);
  }
  let out = '';
  let unicode = false;
  let inClass = false;
  let classStart = -1;
  // Star height: whether each open group (and the whole pattern) holds an unbounded repetition, and whether the
  // atom just before the current character was a group that did.
  const groups: boolean[] = [false];
  let closedRepeating = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    const afterRepeatingGroup = closedRepeating;
    closedRepeating = false;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined) reject('trailing backslash');
      i++;
      if (/[1-9]/.test(n) && !inClass) reject('backreferences are not supported');
      if (n === 'k' && p[i + 1] === '<') reject('backreferences are not supported');
      if (n === 'C') reject('\\C is not supported');
      if (n === 'Q') {
        const end = p.indexOf('\\E', i + 1);
        const literal = end < 0 ? p.slice(i + 1) : p.slice(i + 1, end);
        out += [...literal].map(escapeLiteral).join('');
        i = end < 0 ? p.length : end + 1;
      } else if (n === 'z' || n === 'A') {
        if (inClass) reject(`\\${n} inside a character class`);
        out += n === 'z' ? '(?![\\s\\S])' : '(?<![\\s\\S])';
      } else if (n === 'p' || n === 'P') {
        unicode = true;
        if (p[i + 1] === '{') {
          const close = p.indexOf('}', i);
          if (close < 0) reject('unterminated \\p{…}');
          out += `\\${n}${p.slice(i + 1, close + 1)}`;
          i = close;
        } else {
          const name = p[i + 1] ?? reject('\\p needs a class name');
          out += `\\${n}{${name}}`;
          i++;
        }
      } else if (n === 'x' && p[i + 1] === '{') {
        const close = p.indexOf('}', i);
        if (close < 0) reject('unterminated \\x{…}');
        unicode = true;
        out += `\\u{${p.slice(i + 2, close)}}`;
        i = close;
      } else if (/[A-Za-z0-9]/.test(n) || JS_SYNTAX.has(n) || (inClass && n === '-')) {
        out += `\\${n}`;
      } else {
        out += n; // RE2 allows escaping any punctuation; JS unicode mode only its syntax characters.
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const close = p.indexOf(':]', i + 2);
        const name = close < 0 ? undefined : p.slice(i + 2, close);
        const negated = name?.startsWith('^');
        const chars = name === undefined ? undefined : POSIX_CLASSES[negated ? name.slice(1) : name];
        if (chars === undefined || close < 0) reject(`invalid character class ${p.slice(i, close + 2)}`);
        if (negated) reject('negated POSIX classes are not supported');
        out += chars;
        i = close + 1;
      } else if (c === ']' && i > classStart + 1) {
        inClass = false;
        out += c;
      } else if (c === ']' || c === '[') {
        out += `\\${c}`; // ']' first in a class is literal in RE2; JS would end (or nest) the class.
      } else {
        out += c;
      }
      continue;
    }
    switch (c) {
      case '[':
        inClass = true;
        out += c;
        if (p[i + 1] === '^') {
          out += '^';
          i++;
        }
        classStart = i;
        break;
      case '(':
        out += group(p, i);
        groups.push(false);
        if (p[i + 1] === '?' && p[i + 2] === 'P') i += 2;
        break;
      case ')': {
        const inner = groups.length > 1 ? (groups.pop() as boolean) : reject('unmatched )');
        if (inner) groups[groups.length - 1] = true;
        closedRepeating = inner;
        out += c;
        break;
      }
      case '{': {
        const rep = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (!rep) {
          out += '\\{';
          break;
        }
        if (Number(rep[1]) > MAX_REPEAT || (rep[3] !== undefined && rep[3] !== '' && Number(rep[3]) > MAX_REPEAT)) {
          reject(`repetition count above ${MAX_REPEAT}`);
        }
        out += rep[0];
        i += rep[0].length - 1;
        checkRepeatable(p, i);
        if (rep[2] !== undefined && (rep[3] === '' || Number(rep[3]) > LARGE_REPEAT)) {
          repeat(groups, afterRepeatingGroup);
        }
        break;
      }
      case '}':
        out += '\\}';
        break;
      case '*':
      case '+':
      case '?':
        out += c;
        checkRepeatable(p, i);
        if (c !== '?') repeat(groups, afterRepeatingGroup);
        break;
      default:
        out += c;
    }
  }
  if (inClass) reject('missing ]');
  if (groups.length > 1) reject('missing )');
  return { source: out, flags, unicode };
}

/** A {n,m} repetition above this counts as unbounded for the nested-repetition check. */
const LARGE_REPEAT = 16;

/**
 * An unbounded repetition: marks the enclosing group. Repeating a group that itself holds an unbounded repetition
 * (`(a+)+`, `(x*y)*`) is valid RE2, which runs in linear time, but a backtracking JS engine can take exponential
 * time on it, and one request could stall the proxy: such patterns are refused.
 */
function repeat(groups: boolean[], ofRepeatingGroup: boolean): void {
  if (ofRepeatingGroup) reject('nested unbounded repetition (like (a+)+) could backtrack exponentially in JavaScript');
  groups[groups.length - 1] = true;
}

/** RE2 has no possessive quantifiers and refuses a repeated repetition (a**, a*+, a{2}+). */
function checkRepeatable(p: string, i: number): void {
  let next = p[i + 1];
  if (next === '?') next = p[i + 2];
  if (next === '*' || next === '+') reject(`bad repetition operator ${p.slice(i, i + 2)}`);
}

/** The JS spelling of a group opening at p[i] ('('), or a rejection for group kinds RE2 lacks. */
function group(p: string, i: number): string {
  if (p[i + 1] !== '?') return '(';
  const rest = p.slice(i + 2);
  if (rest.startsWith(':')) return '(';
  if (rest.startsWith('=') || rest.startsWith('!')) reject('lookahead is not supported');
  if (rest.startsWith('<=') || rest.startsWith('<!')) reject('lookbehind is not supported');
  if (rest.startsWith('P<')) return '(?'; // (?P<name> → (?<name>: the caller skips the 'P'.
  if (rest.startsWith('<')) return '(';
  if (rest.startsWith('P=') || rest.startsWith('P>')) reject('backreferences are not supported');
  if (rest.startsWith('>')) reject('atomic groups are not supported');
  if (rest.startsWith('#')) reject('comments are not supported');
  const mod = /^([a-zA-Z]*)(-[a-zA-Z]*)?([:)])/.exec(rest);
  if (mod && /^[ims]*$/.test(mod[1] ?? '') && /^-?[ims]*$/.test(mod[2] ?? '')) {
    if (mod[3] === ')') reject('inline flags are supported only at the start of the pattern, or as (?flags:…)');
    return '(';
  }
  return reject(`unsupported group syntax (?${rest.slice(0, 2)}`);
}

/**
 * Compiles an RE2 pattern once. The RegExp is unanchored and has no g/y flags (callers anchor it for Envoy's full
 * match semantics); it uses unicode mode (code points, as RE2 matches UTF-8) when the pattern allows it.
 */
export function compileRe2(pattern: string): { regex: RegExp } | { error: string } {
  let t: ReturnType<typeof translate>;
  try {
    t = translate(pattern);
  } catch (err) {
    if (err instanceof Re2Error) return { error: `invalid RE2 regex ${JSON.stringify(pattern)}: ${err.message}` };
    throw err;
  }
  const source = t.source;
  for (const flags of t.unicode ? [`${t.flags}u`] : [`${t.flags}u`, t.flags]) {
    try {
      return { regex: new RegExp(source, flags) };
    } catch (err) {
      if (flags === t.flags || t.unicode) {
        return { error: `invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}` };
      }
    }
  }
  return { error: `invalid regex ${JSON.stringify(pattern)}` };
}

/** An RE2 rewrite substitution (\1, \0 for the whole match, \\ for a backslash) in JS replacement syntax. */
export function re2Substitution(substitution: string): string {
  let out = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i] as string;
    const n = substitution[i + 1];
    if (c === '\\' && n !== undefined && /\d/.test(n)) {
      out += n === '0' ? '$&' : `$${n}`;
      i++;
    } else if (c === '\\' && n === '\\') {
      out += '\\';
      i++;
    } else {
      out += c === '$' ? '$$' : c;
    }
  }
  return out;
}
