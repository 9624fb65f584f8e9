// Label keys and values, bounded as Kubernetes bounds them: `[prefix/]name` keys and short values of [A-Za-z0-9_.-].
import { MAX_LABEL_NAME_CHARS, MAX_LABEL_PREFIX_CHARS, MAX_LABEL_VALUE_CHARS } from '../../common/limits.ts';
import { describe, type Issues, isRecord } from './issues.ts';
import { keyPath } from './key-path.ts';

/** Letters, digits, "-", "_" and ".", starting and ending with a letter or digit. */
const NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Lowercase DNS-1123 labels joined by dots. */
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

const CHARACTERS = 'letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
const NAME_RULE = `at most ${MAX_LABEL_NAME_CHARS} characters (${CHARACTERS})`;
const VALUE_RULE = `at most ${MAX_LABEL_VALUE_CHARS} characters (${CHARACTERS}), or empty`;

/** A string for messages: the text (shortened) and, when long, its length. */
function shown(value: string): string {
  return value.length > 60 ? `${describe(value)} (${value.length} characters)` : describe(value);
}

/** What is wrong with a label key, or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/', 3);
  if (parts.length > 2) return `expected a label key with at most one "/", got ${shown(key)}`;
  const name = parts.length === 2 ? (parts[1] as string) : key;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0 || prefix.length > MAX_LABEL_PREFIX_CHARS || !DNS_SUBDOMAIN.test(prefix)) {
      return `expected a label key prefix (before "/") that is a DNS subdomain of at most ${MAX_LABEL_PREFIX_CHARS} characters (lowercase letters, digits, "-" and "."), got ${shown(prefix)}`;
    }
  }
  if (name.length === 0) return 'expected a label key with a non-empty name';
  if (name.length > MAX_LABEL_NAME_CHARS || !NAME.test(name)) {
    return `expected a label key name of ${NAME_RULE}, got ${shown(name)}`;
  }
  return undefined;
}

/** What is wrong with a label value, or undefined when it is valid (empty is valid). */
export function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `expected a string, got ${describe(value)}`;
  if (value === '' || (value.length <= MAX_LABEL_VALUE_CHARS && NAME.test(value))) return undefined;
  return `expected a label value of ${VALUE_RULE}, got ${shown(value)}`;
}

/** The problems of a labels mapping as [path, message] pairs, paths under `path`. */
export function labelProblems(labels: Record<string, unknown>, path: string): [string, string][] {
  const problems: [string, string][] = [];
  for (const [key, value] of Object.entries(labels)) {
    const at = keyPath(path, key);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) problems.push([at, keyProblem]);
    const valueProblem = labelValueProblem(value);
    if (valueProblem) problems.push([at, valueProblem]);
  }
  return problems;
}

/**
 * Validates a labels mapping (metadata.labels, endpoint labels, subset selectors); `nonEmpty` requires one label
 * at least. Returns whether it is valid.
 */
export function validateLabels(
  value: unknown,
  path: string,
  issues: Issues,
  nonEmpty = false,
): value is Record<string, string> {
  if (!isRecord(value) || (nonEmpty && Object.keys(value).length === 0)) {
    issues.expected(path, nonEmpty ? 'a non-empty mapping of strings' : 'a mapping of strings', value);
    return false;
  }
  const problems = labelProblems(value, path);
  for (const [at, message] of problems) issues.add(at, message);
  return problems.length === 0;
}
