// Unified-style diff of two resources' YAML (stable key order, store stamps left out), for dry runs.
import { stringify } from 'yaml';
import { canonicalResource, withoutStamps } from './canonical.ts';
import type { Resource } from './types.ts';

const CONTEXT = 3;
/** Above this many line pairs the LCS table is skipped and the diff is "remove all, add all". */
const MAX_CELLS = 4_000_000;

/** The YAML an operator would write for `r`: display key order, no generation/timestamps. '' for undefined. */
export function resourceYaml(r: Resource | undefined): string {
  return r === undefined ? '' : stringify(canonicalResource(withoutStamps(r)), { lineWidth: 0 });
}

type Op = { tag: ' ' | '-' | '+'; line: string };

function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Line edit script by longest common subsequence. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  if (a.length * b.length > MAX_CELLS) {
    return [...a.map((line) => ({ tag: '-' as const, line })), ...b.map((line) => ({ tag: '+' as const, line }))];
  }
  const w = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * w + j] =
        a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ tag: ' ', line: a[i]! });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
      ops.push({ tag: '-', line: a[i++]! });
    } else {
      ops.push({ tag: '+', line: b[j++]! });
    }
  }
  return ops;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`;
}

/** Unified diff of two texts with 3 lines of context; '' when they are equal. */
export function unifiedDiff(before: string, after: string, fromLabel: string, toLabel: string): string {
  const ops = editScript(lines(before), lines(after));
  if (ops.every((op) => op.tag === ' ')) return '';
  const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
  let k = 0;
  // Line numbers (1-based) in each text at ops[k].
  const posA: number[] = [];
  const posB: number[] = [];
  let la = 1;
  let lb = 1;
  for (const op of ops) {
    posA.push(la);
    posB.push(lb);
    if (op.tag !== '+') la++;
    if (op.tag !== '-') lb++;
  }
  while (k < ops.length) {
    if (ops[k]!.tag === ' ') {
      k++;
      continue;
    }
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    // Extend the hunk while changes are closer than 2*CONTEXT lines apart.
    while (end < ops.length) {
      let next = end;
      while (next < ops.length && ops[next]!.tag === ' ') next++;
      if (next === ops.length || next - end > 2 * CONTEXT) break;
      while (next < ops.length && ops[next]!.tag !== ' ') next++;
      end = next;
    }
    const stop = Math.min(ops.length, end + CONTEXT);
    const hunk = ops.slice(start, stop);
    const countA = hunk.filter((op) => op.tag !== '+').length;
    const countB = hunk.filter((op) => op.tag !== '-').length;
    out.push(`@@ -${range(posA[start]!, countA)} +${range(posB[start]!, countB)} @@`);
    for (const op of hunk) out.push(`${op.tag}${op.line}`);
    k = stop;
  }
  return `${out.join('\n')}\n`;
}

/** The diff from the stored resource (undefined = none) to the new one (undefined = deleted). */
export function diffResources(before: Resource | undefined, after: Resource | undefined): string {
  const r = after ?? before;
  if (!r) return '';
  const name = `${r.kind}/${r.metadata.name}`;
  return unifiedDiff(
    resourceYaml(before),
    resourceYaml(after),
    before ? `${name} (stored)` : '/dev/null',
    after ? `${name} (applied)` : '/dev/null',
  );
}
