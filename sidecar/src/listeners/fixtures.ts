// Test fixtures: ListenerConfig builders (TCP proxy and HTTP connection manager listeners), a hand-set ConfigSource.

import type { ConfigSource } from '../config/config-source.ts';
import { HTTP_LIMIT_DEFAULTS } from '../config/decode-http-limits.ts';
import { EMPTY_CONFIG, type ListenerConfig, type SidecarConfig } from '../config/model.ts';

/** A TCP proxy listener on 127.0.0.1 forwarding to `clusters` ('name' or 'name*weight'). */
export function tcpListener(
  name: string,
  port: number,
  clusters: string[],
  options: { idleTimeoutMs?: number; version?: string; address?: string } = {},
): ListenerConfig {
  const weighted = clusters.map((spec) => {
    const [cluster, weight] = spec.split('*');
    return { name: cluster as string, weight: weight === undefined ? 1 : Number(weight) };
  });
  return {
    name,
    address: options.address ?? '127.0.0.1',
    port,
    direction: 'outbound',
    filter: {
      type: 'tcp',
      tcp: {
        statPrefix: name,
        clusters: weighted,
        totalWeight: weighted.reduce((a, c) => a + c.weight, 0),
        idleTimeoutMs: options.idleTimeoutMs ?? 0,
        accessLogs: [],
      },
    },
    version: options.version ?? '1',
  };
}

/** An HTTP listener on 127.0.0.1 reading routes `routeConfigName` over RDS. */
export function httpListener(name: string, port: number, routeConfigName: string, version = '1'): ListenerConfig {
  return {
    name,
    address: '127.0.0.1',
    port,
    direction: 'outbound',
    filter: {
      type: 'http',
      http: {
        statPrefix: name,
        routeConfigName,
        codec: 'auto',
        useRemoteAddress: false,
        xffNumTrustedHops: 0,
        generateRequestId: true,
        serverName: 'trellis',
        serverHeaderTransformation: 'overwrite',
        requestTimeoutMs: 0,
        streamIdleTimeoutMs: 300_000,
        maxRequestHeadersKb: 60,
        maxHeadersCount: 100,
        pathNormalization: { normalizePath: false, mergeSlashes: false, escapedSlashes: 'keep-unchanged' },
        limits: { ...HTTP_LIMIT_DEFAULTS },
        upgrades: [],
        accessLogs: [],
        httpFilters: [],
      },
    },
    version,
  };
}

/** A ConfigSource whose config tests set by hand. */
export class TestConfigSource implements ConfigSource {
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

  subscribers(): number {
    return this.listeners.size;
  }
}
