// A ConfigSource whose config is set by hand: the sidecar relays configs through one after the cluster manager
// applied them (listeners never see an unknown cluster), and tests set configs on one directly.
import type { ConfigSource } from './config-source.ts';
import { EMPTY_CONFIG, type SidecarConfig } from './model.ts';

export class ConfigRelay implements ConfigSource {
  private config: SidecarConfig;
  private readonly listeners = new Set<(config: SidecarConfig) => void>();

  constructor(config: SidecarConfig = EMPTY_CONFIG) {
    this.config = config;
  }

  current(): SidecarConfig {
    return this.config;
  }

  onChange(listener: (config: SidecarConfig) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  set(config: SidecarConfig): void {
    this.config = config;
    for (const l of [...this.listeners]) l(config);
  }

  /** How many listeners follow it (tests). */
  subscribers(): number {
    return this.listeners.size;
  }
}
