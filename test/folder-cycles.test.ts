// The folder-cycle lint (scripts/folder-cycles.ts) on small trees: a cycle between folders, or between a folder's own
// files and a subfolder, fails with the edges named; imports within one folder and one-way layers pass.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const SCRIPT = new URL('../scripts/folder-cycles.ts', import.meta.url).pathname;

/** Runs the lint on a tree of `files` (path → source); returns its exit code and output. */
function lint(files: Record<string, string>): { code: number; out: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'folder-cycles-'));
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    try {
      const out = execFileSync(process.execPath, [SCRIPT, root], { encoding: 'utf8', stdio: 'pipe' });
      return { code: 0, out };
    } catch (err) {
      const e = err as { status: number; stderr: string };
      return { code: e.status, out: e.stderr };
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('lint: no import cycles between folders', () => {
  it('passes one-way layers and cycles inside one folder', () => {
    const r = lint({
      'main.ts': "import { a } from './a/a.ts';\nimport { b } from './b/b.ts';\n",
      'a/a.ts': "import { b } from '../b/b.ts';\nimport { a2 } from './a2.ts';\n",
      'a/a2.ts': "import { a } from './a.ts';\n",
      'b/b.ts': 'export const b = 1;\n',
    });
    expect(r.code, r.out).to.equal(0);
  });

  it('fails on a cycle between sibling folders and names the imports that make it', () => {
    const r = lint({
      'a/a.ts': "import { b } from '../b/b.ts';\n",
      'b/b.ts': "import type { A } from '../a/a.ts';\n",
    });
    expect(r.code).to.equal(1);
    expect(r.out).to.include('a cycle between a, b');
    expect(r.out).to.include('a/a.ts imports b/b.ts');
    expect(r.out).to.include('b/b.ts imports a/a.ts');
  });

  it("fails when a folder's own files both use a subfolder and are used by it, at any depth", () => {
    const r = lint({
      'x/index.ts': "import { s } from './sub/s.ts';\nexport const base = 1;\n",
      'x/sub/s.ts': "import { base } from '../index.ts';\n",
    });
    expect(r.code).to.equal(1);
    expect(r.out).to.include('a cycle between (own files), sub');
  });

  it('ignores tests, which may reach anywhere', () => {
    const r = lint({
      'a/a.ts': "import { b } from '../b/b.ts';\n",
      'b/b.ts': 'export const b = 1;\n',
      'b/b.test.ts': "import { a } from '../a/a.ts';\n",
    });
    expect(r.code, r.out).to.equal(0);
  });
});
