// Crash-safe file replacement: write a temp file, fsync it, rename it over the target, fsync the directory.
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Suffix of temp files; any such file found at startup is a leftover from a crash. */
export const TEMP_SUFFIX = '.tmp';

let counter = 0;

/** Replaces `file` with `data` so that after a crash the file holds either the old or the new content. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = `${file}.${process.pid}.${++counter}${TEMP_SUFFIX}`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** Makes a rename in `dir` durable. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
