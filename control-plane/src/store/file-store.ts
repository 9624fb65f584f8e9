// The embedded store: the whole state as one JSON file in a data directory, replaced atomically on every commit.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { KINDS, type Resource } from '../resources/types.ts';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic-write.ts';
import { BaseStore, type PersistedState } from './base-store.ts';
import { lockDirectory } from './dir-lock.ts';

export const STATE_FILE = 'state.json';
const FORMAT = 'trellis.store/v1';

interface StateFile {
  format: typeof FORMAT;
  revision: number;
  resources: Resource[];
}

/**
 * `<dataDir>/state.json` holds `{format, revision, resources}`. Every commit writes a temp file, fsyncs it and
 * renames it over state.json (then fsyncs the directory), so a kill -9 at any point leaves the previous or the new
 * state, never a mix; temp files left by a crash are removed on open. `<dataDir>/lock` keeps a second control plane
 * off the directory while this one has it open.
 */
export class FileStore extends BaseStore {
  readonly dataDir: string;
  readonly file: string;
  private unlock: (() => Promise<void>) | undefined;

  constructor(dataDir: string) {
    super();
    this.dataDir = path.resolve(dataDir);
    this.file = path.join(this.dataDir, STATE_FILE);
  }

  protected async load(): Promise<PersistedState | undefined> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    this.unlock = await lockDirectory(this.dataDir);
    try {
      return await this.loadLocked();
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  protected override async release(): Promise<void> {
    const unlock = this.unlock;
    this.unlock = undefined;
    await unlock?.();
  }

  private async loadLocked(): Promise<PersistedState | undefined> {
    for (const name of await readdir(this.dataDir)) {
      if (name.startsWith(`${STATE_FILE}.`) && name.endsWith(TEMP_SUFFIX)) {
        await unlink(path.join(this.dataDir, name)).catch(() => undefined);
      }
    }
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseStateFile(text, this.file);
  }

  protected async persist(state: PersistedState): Promise<void> {
    const body: StateFile = { format: FORMAT, revision: state.revision, resources: state.resources };
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 2)}\n`);
  }
}

function parseStateFile(text: string, file: string): PersistedState {
  const fail = (why: string): never => {
    throw new Error(`cannot load the store from ${file}: ${why}`);
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON (${(err as Error).message})`);
  }
  const state = body as Partial<StateFile> | null;
  if (typeof state !== 'object' || state === null || state.format !== FORMAT) return fail(`expected format ${FORMAT}`);
  if (!Number.isInteger(state.revision) || (state.revision as number) < 0) return fail('bad revision');
  if (!Array.isArray(state.resources)) return fail('resources is not a list');
  for (const r of state.resources) {
    if (!KINDS.includes(r?.kind) || typeof r?.metadata?.name !== 'string') return fail('a resource has no kind/name');
  }
  return { revision: state.revision as number, resources: state.resources };
}
