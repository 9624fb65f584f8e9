// Lint: no import cycles between folders. In every folder, its subfolders (each with everything under it) and its own
// files (as one node) must import one another without a cycle; files of one folder may import each other freely.
// Usage: node scripts/folder-cycles.ts [root…]   (default: every package's src); exits 1 and names each cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const DEFAULT_ROOTS = [
  'sidecar/src',
  'control-plane/src',
  'demo/src',
  'packages/filter-api/src',
  'packages/identity/src',
  'packages/node-contract/src',
  'packages/re2/src',
  'packages/xds-protos/src',
];
const OWN = '(own files)';

/** Source files under `dir`, tests excluded (a test may reach anywhere it needs to). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts)$/.test(name) && !/\.test\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, re-exports and dynamic), resolved to paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)) {
    out.push(path.resolve(path.dirname(file), m[1] as string));
  }
  return out;
}

/** The node `file` belongs to when looking inside `dir`: the child folder holding it, or dir's own files. */
function nodeIn(dir: string, file: string): string | undefined {
  const rel = path.relative(dir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? OWN : parts[0];
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(nodes: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return out;
}

function folders(dir: string): string[] {
  const out = [dir];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...folders(p));
  }
  return out;
}

const roots = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_ROOTS;
const problems: string[] = [];
for (const root of roots) {
  const abs = path.resolve(root);
  const files = sources(abs);
  const imports = new Map(files.map((f) => [f, importsOf(f)]));
  for (const dir of folders(abs)) {
    const edges = new Map<string, Set<string>>();
    const why = new Map<string, string>();
    const nodes = new Set<string>();
    for (const [file, targets] of imports) {
      const from = nodeIn(dir, file);
      if (from === undefined) continue;
      nodes.add(from);
      for (const target of targets) {
        const to = nodeIn(dir, target);
        if (to === undefined || to === from) continue;
        const set = edges.get(from) ?? new Set<string>();
        edges.set(from, set);
        set.add(to);
        const key = `${from} -> ${to}`;
        if (!why.has(key)) why.set(key, `${path.relative(abs, file)} imports ${path.relative(abs, target)}`);
      }
    }
    for (const scc of cycles([...nodes].sort(), edges)) {
      const inCycle = new Set(scc);
      const lines = [...why]
        .filter(([key]) => {
          const [a, b] = key.split(' -> ') as [string, string];
          return inCycle.has(a) && inCycle.has(b);
        })
        .map(([key, example]) => `    ${key}: ${example}`);
      problems.push(
        `${path.relative(process.cwd(), dir) || '.'}: a cycle between ${scc.join(', ')}\n${lines.join('\n')}`,
      );
    }
  }
}
if (problems.length > 0) {
  console.error(`import cycles between folders (${problems.length}):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`no import cycles between folders in ${roots.join(', ')}`);
