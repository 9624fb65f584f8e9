// Where the current SidecarConfig comes from (the xDS client) and how changes are announced.
import type { SidecarConfig } from './model.ts';

export interface ConfigSource {
  current(): SidecarConfig;
  /** Called after each accepted (ACKed) change with the new immutable config; returns unsubscribe. */
  onChange(listener: (config: SidecarConfig) => void): () => void;
}

/** A config source the sidecar starts and stops: the xDS client, a worker thread's relay, a test's hand-set source. */
export interface SidecarConfigSource extends ConfigSource {
  start(): void;
  stop(): Promise<void>;
  /** Resolves once the first complete config has been applied. */
  ready(): Promise<void>;
  /** Everything received, for /config_dump. */
  dump(): unknown;
}
