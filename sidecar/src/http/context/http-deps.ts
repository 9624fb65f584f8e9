// What an HTTP connection manager needs from the rest of the sidecar; routes are looked up at request time.
import type { Logger } from 'pino';
import type { Stats } from '../../common/stats.ts';
import type { RouteConfig } from '../../config/model.ts';
import type { ClusterLookup } from '../../upstream/cluster.ts';
import type { UpstreamPools } from '../pool/upstream-pools.ts';
import type { ExchangeObserverFactory } from './exchange-observer.ts';

export interface HttpDeps {
  clusters: ClusterLookup;
  /** The current RouteConfiguration by RDS name (changes live; a request keeps the one it started with). */
  routeConfig(name: string): RouteConfig | undefined;
  stats: Stats;
  logger: Logger;
  /** Observers of HTTP requests (tracing, access logs, metrics); none = nothing observed. */
  observers?: readonly ExchangeObserverFactory[];
  /**
   * Upstream connection pools every HTTP listener shares, owned by the sidecar: warm connections survive a listener
   * change. Absent: each HTTP connection manager has pools of its own, closed when it drains.
   */
  pools?: UpstreamPools;
}
