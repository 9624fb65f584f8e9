// Test fixtures for the HTTP/1.1 upstream pool: a pool to one 127.0.0.1 port, and a GET call through it.
import type { Cluster } from '../../upstream/cluster.ts';
import { PLAINTEXT } from '../../upstream/dialer.ts';
import type { Host } from '../../upstream/host/host.ts';
import { H1Pool, type H1PoolOptions } from './h1-pool.ts';

/** A cluster with no transport sockets: plaintext to every host. */
const TEST_CLUSTER = { config: {} } as Cluster;

/** An H1Pool to 127.0.0.1:port with no breakers; `options` override the defaults. */
export function testPool(port: number, options: Partial<H1PoolOptions> = {}): H1Pool {
  return new H1Pool({
    dial: () => PLAINTEXT.dial(TEST_CLUSTER, { address: '127.0.0.1', port } as Host),
    connectTimeoutMs: 1000,
    idleTimeoutMs: 10_000,
    maxConnections: 4,
    maxPending: 4,
    acquireConnection: () => true,
    releaseConnection: () => undefined,
    maxHeadBytes: 8192,
    onConnect: () => undefined,
    onDisconnect: () => undefined,
    onConnectFailure: () => undefined,
    ...options,
  });
}

/**
 * Dispatches a GET on the pool; resolves 'end' when its response is complete, or the failure. `reading` false makes
 * the call refuse its body chunks, as an exchange whose client is slow or gone does (the connection pauses).
 */
export function poolGet(pool: H1Pool, path: string, reading = true): Promise<string> {
  return new Promise((resolve) => {
    pool.dispatch({
      method: 'GET',
      path,
      authority: 'up',
      headers: [],
      body: null,
      upgrade: undefined,
      connection: undefined,
      onHead: () => undefined,
      onData: () => reading,
      onEnd: () => resolve('end'),
      onUpgrade: () => undefined,
      onFailure: (e) => resolve(e),
    });
  });
}
