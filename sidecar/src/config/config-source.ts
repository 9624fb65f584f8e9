// Where the current SidecarConfig comes from (the xDS client) and how changes are announced.
import type { SidecarConfig } from './model.ts';

export interface ConfigSource {
  current(): SidecarConfig;
  /** Called after each accepted (ACKed) change with the new immutable config; returns unsubscribe. */
  onChange(listener: (config: SidecarConfig) => void): () => void;
}
