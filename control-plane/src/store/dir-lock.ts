// One control plane per data directory: a lock file naming its owner (pid, host, start), refreshed while it runs;
// a lock whose owner is gone (dead process, no refresh for a while) is taken over.
import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'lock';
/** The owner touches the lock this often… */
export const LOCK_REFRESH_MS = 10_000;
/** …and a lock not touched for this long is stale, whoever wrote it. */
export const LOCK_STALE_MS = 3 * LOCK_REFRESH_MS;

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
 * The owner still holds the directory: it refreshed the lock lately, and when it is on this host its process is
 * alive and is not us (a restart in a fresh pid namespace, as a container's pid 1, finds its own pid there).
 */
function held(owner: LockOwner, ageMs: number): boolean {
  if (ageMs > LOCK_STALE_MS) return false;
  if (owner.host !== hostname()) return true;
  return owner.pid !== process.pid && pidAlive(owner.pid);
}

/** The lock's owner and age; undefined when it is gone; throws when it cannot be read (EACCES: not ours to judge). */
async function readLock(file: string): Promise<{ owner: LockOwner | undefined; ageMs: number } | undefined> {
  let text: string;
  let ageMs: number;
  try {
    ageMs = Date.now() - (await stat(file)).mtimeMs;
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the data directory lock ${file}: ${(err as Error).message}`);
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.since === 'string')
      return { owner: o as LockOwner, ageMs };
  } catch {
    // not a lock we wrote: stale
  }
  return { owner: undefined, ageMs };
}

/**
 * Locks `dir` (which must exist) for this process; resolves with the release function. The lock file appears whole
 * (written aside, then hard-linked into place, which fails if one exists) and is touched every LOCK_REFRESH_MS.
 * Refuses, naming the owner, while another control plane holds it. Advisory: it guards against a second process
 * started by mistake, not against two takeovers of one stale lock racing each other.
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const aside = path.join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(aside, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(aside, file);
        return ownedLock(file, me);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
          // A filesystem without hard links: create it in place (another starter may read it half-written).
          const created = await writeFile(file, `${JSON.stringify(me)}\n`, { flag: 'wx', mode: 0o600 }).then(
            () => true,
            (e: NodeJS.ErrnoException) => {
              if (e.code !== 'EEXIST') throw e;
              return false;
            },
          );
          if (created) return ownedLock(file, me);
        } else if (code !== 'EEXIST') throw err;
      }
      const found = await readLock(file);
      if (found?.owner !== undefined && held(found.owner, found.ageMs)) {
        const { pid, host, since } = found.owner;
        throw new Error(
          `data directory ${dir} is in use by another control plane (pid ${pid} on ${host} since ${since}); stop ` +
            `it or give this one another --data-dir (a lock not refreshed for ${LOCK_STALE_MS / 1000} s is taken over)`,
        );
      }
      await unlink(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    throw new Error(`cannot lock data directory ${dir}: its lock file keeps reappearing`);
  } finally {
    await unlink(aside).catch(() => {});
  }
}

/** Keeps the lock fresh; the release stops that and removes the file if it is still ours. */
function ownedLock(file: string, me: LockOwner): () => Promise<void> {
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => {});
  }, LOCK_REFRESH_MS);
  refresh.unref();
  return async () => {
    clearInterval(refresh);
    const found = await readLock(file).catch(() => undefined);
    const owner = found?.owner;
    if (owner !== undefined && owner.pid === me.pid && owner.since === me.since) await unlink(file).catch(() => {});
  };
}
