// ProcessGroup: close() stops every child it started, and nothing starts after it (a stop during start-up).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ProcessGroup } from './process-group.ts';

describe('ProcessGroup', () => {
  let dir: string;
  let script: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-group-'));
    script = path.join(dir, 'idle.cjs');
    writeFileSync(script, "console.log(JSON.stringify({ msg: 'up' })); setInterval(() => {}, 1000);\n");
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('close() stops the children; a start after it throws instead of spawning', async () => {
    const group = new ProcessGroup();
    const child = group.start('idle', script, []);
    await child.waitForLog((l) => l['msg'] === 'up');
    await group.close();
    expect(child.exited()).to.equal(true);
    expect(() => group.start('late', script, [])).to.throw('not starting late: the demo is stopping');
    expect(group.running()).to.deep.equal([]);
  });
});
