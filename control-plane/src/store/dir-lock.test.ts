// The data-directory lock: a live or freshly refreshed owner refuses; dead, silent, own-pid and unreadable locks are
// taken over; the lock names its owner and goes on release.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LOCK_FILE, LOCK_STALE_MS, lockDirectory } from './dir-lock.ts';

describe('lockDirectory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const lockPath = () => path.join(dir, LOCK_FILE);
  const writeLock = (owner: unknown) => writeFile(lockPath(), JSON.stringify(owner));
  const age = async (ms: number) => {
    const then = new Date(Date.now() - ms);
    await utimes(lockPath(), then, then);
  };
  const since = new Date().toISOString();
  const refusal = (): Promise<string | undefined> =>
    lockDirectory(dir).then(
      async (release) => {
        await release();
        return undefined;
      },
      (err: Error) => err.message,
    );
  /** Takes the lock, checks it names this process, releases it, checks it is gone. */
  const takeAndRelease = async (): Promise<void> => {
    const release = await lockDirectory(dir);
    const owner = JSON.parse(await readFile(lockPath(), 'utf8')) as { pid: number; host: string };
    expect(owner).to.include({ pid: process.pid, host: hostname() });
    await release();
    expect(await readdir(dir)).to.deep.equal([]);
  };

  it('refuses while a live process on this host holds it, and takes it once that process is gone', async () => {
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await writeLock({ pid: holder.pid, host: hostname(), since });
      expect(await refusal()).to.match(new RegExp(`in use by another control plane \\(pid ${holder.pid} on `));
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    await takeAndRelease();
  });

  it('refuses a lock from another host while it is refreshed, takes it over once it is not', async () => {
    await writeLock({ pid: 1, host: 'elsewhere', since });
    expect(await refusal()).to.match(/in use by another control plane \(pid 1 on elsewhere /);
    await age(LOCK_STALE_MS + 1000);
    await takeAndRelease();
  });

  it('takes over a live pid that stopped refreshing (a recycled pid after a crash)', async () => {
    await writeLock({ pid: process.ppid, host: hostname(), since });
    expect(await refusal()).to.match(/in use/);
    await age(LOCK_STALE_MS + 1000);
    await takeAndRelease();
  });

  for (const [what, owner] of [
    ['our own pid (a restart in a fresh pid namespace)', { pid: process.pid, host: hostname(), since }],
    ['an unreadable file', 'not json'],
  ] as const) {
    it(`takes over a lock left by ${what}`, async () => {
      await (typeof owner === 'string' ? writeFile(lockPath(), owner) : writeLock(owner));
      await takeAndRelease();
    });
  }
});
