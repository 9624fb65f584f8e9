// A Store that keeps everything in memory (tests, and runs that need no persistence).
import { BaseStore, type PersistedState } from './base-store.ts';

export class MemoryStore extends BaseStore {
  protected async load(): Promise<PersistedState | undefined> {
    return undefined;
  }

  protected async persist(_state: PersistedState): Promise<void> {}
}
