// One control plane per data directory: a lock file naming its owner (pid, host, start); a dead owner's lock is taken over.
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'lock';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** True while the process is running (EPERM: it exists but belongs to someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The owner still holds the directory: a live process on this host other than us. A lock from another host (a
 * recreated container keeps the volume but not the hostname) or with our own pid (a restart in a fresh pid
 * namespace) is stale.
 */
function held(owner: LockOwner | undefined): owner is LockOwner {
  return owner !== undefined && owner.host === hostname() && owner.pid !== process.pid && pidAlive(owner.pid);
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.since === 'string') return o as LockOwner;
  } catch {
    // gone, unreadable or not ours: stale
  }
  return undefined;
}

/**
 * Locks `dir` (which must exist) for this process; resolves with the release function. Refuses, naming the owner,
 * while another live control plane holds it. Advisory: it guards against a second process started by mistake, not
 * against two takeovers of the same stale lock racing each other.
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, text, { flag: 'wx', mode: 0o600 });
      return async () => {
        const owner = await readOwner(file);
        if (owner !== undefined && owner.pid === me.pid && owner.since === me.since) await unlink(file).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(file);
    if (held(owner)) {
      throw new Error(
        `data directory ${dir} is in use by another control plane (pid ${owner.pid} on ${owner.host} since ` +
          `${owner.since}); stop it or give this one another --data-dir`,
      );
    }
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  throw new Error(`cannot lock data directory ${dir}: its lock file keeps reappearing`);
}
