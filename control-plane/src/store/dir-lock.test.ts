// The data-directory lock: a live owner on this host refuses; dead, foreign-host, own-pid and unreadable locks are taken over.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LOCK_FILE, lockDirectory } from './dir-lock.ts';

describe('lockDirectory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writeLock = (owner: unknown) => writeFile(path.join(dir, LOCK_FILE), JSON.stringify(owner));
  const since = new Date().toISOString();

  it('refuses while a live process on this host holds it, and takes it once that process is gone', async () => {
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await writeLock({ pid: holder.pid, host: hostname(), since });
      let refused: Error | undefined;
      await lockDirectory(dir).catch((err: Error) => {
        refused = err;
      });
      expect(refused?.message).to.match(new RegExp(`in use by another control plane \\(pid ${holder.pid} on `));
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const release = await lockDirectory(dir);
    const owner = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(owner.pid).to.equal(process.pid);
    await release();
  });

  for (const [what, owner] of [
    ['another host', { pid: process.ppid, host: 'elsewhere', since }],
    ['our own pid (a restart in a fresh pid namespace)', { pid: process.pid, host: hostname(), since }],
    ['an unreadable file', 'not json'],
  ] as const) {
    it(`takes over a lock left by ${what}`, async () => {
      await (typeof owner === 'string' ? writeFile(path.join(dir, LOCK_FILE), owner) : writeLock(owner));
      const release = await lockDirectory(dir);
      await release();
      await lockDirectory(dir).then((r) => r());
    });
  }
});
