// A worker thread's config source: the main thread's accepted xDS resources, decoded into a SidecarConfig of the
// worker's own (each thread holds its own decoded objects, built exactly as the main thread's were).
import { ConfigRelay } from '../config/config-relay.ts';
import type { SidecarConfigSource } from '../config/config-source.ts';
import type { SidecarConfig } from '../config/model.ts';
import { type ResourceExport, ResourceStore } from '../xds/resource-store.ts';

export class RelayedConfigSource implements SidecarConfigSource {
  readonly #store = new ResourceStore();
  readonly #relay = new ConfigRelay();
  #resolveReady: (() => void) | undefined;
  readonly #ready = new Promise<void>((resolve) => {
    this.#resolveReady = resolve;
  });

  start(): void {}

  async stop(): Promise<void> {}

  ready(): Promise<void> {
    return this.#ready;
  }

  /** The main thread holds the xDS state: its admin port serves the config dump. */
  dump(): unknown {
    return { relayedFromMainThread: true };
  }

  current(): SidecarConfig {
    return this.#relay.current();
  }

  onChange(listener: (config: SidecarConfig) => void): () => void {
    return this.#relay.onChange(listener);
  }

  /** Holds what the main thread holds; an error (never expected: the main thread decoded the same bytes) is returned. */
  apply(resources: ResourceExport): string | undefined {
    const failed = this.#store.importAll(resources);
    if (failed !== undefined) return failed.error;
    const config = this.#store.build();
    this.#resolveReady?.();
    this.#resolveReady = undefined;
    if (config !== this.#relay.current()) this.#relay.set(config);
    return undefined;
  }
}
