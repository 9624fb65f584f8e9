// Test fixtures: ListenerConfig builders (TCP proxy and HTTP connection manager listeners).
import { HTTP_LIMIT_DEFAULTS } from '../config/decode-http-limits.ts';
import type { ListenerConfig } from '../config/model.ts';

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
        forwardClientCert: { mode: 'sanitize', setUri: false },
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
