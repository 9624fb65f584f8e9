// Test helper for HTTP filters: an app that counts the requests reaching it, and proxies on real sockets whose
// connection manager runs given filters (the built-in registry) before the router.
import type http from 'node:http';
import type { HttpConnectionManagerConfig, HttpFilterConfig, ListenerConfig, Route } from '../config/model.ts';
import {
  echoHandler,
  type ProxyUnderTest,
  route,
  routeConfig,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from '../http/test-harness.ts';
import type { ResponseCaches } from './cache/response-store.ts';
import { setup } from './setup.ts';

export interface FilterBench {
  /** Requests that reached the app so far. */
  readonly hits: number;
  /** The cluster `app` of the last proxy started (its request slots). */
  readonly clusters: TestClusters;
  /** A proxy (statPrefix `in`) running `filters` over `routes` (default: everything to the app). */
  proxy(
    filters: HttpFilterConfig[],
    routes?: Route[],
    hcm?: Partial<HttpConnectionManagerConfig>,
    listener?: Partial<ListenerConfig>,
  ): Promise<ProxyUnderTest>;
}

/**
 * Registers before/after hooks in the calling describe block and returns the bench they manage; the app answers with
 * `app` (default: JSON describing the request).
 */
export function filterBench(appHandler?: http.RequestListener, caches?: ResponseCaches): FilterBench {
  let app: Awaited<ReturnType<typeof startHttpUpstream>> | undefined;
  let hits = 0;
  let clusters = new TestClusters();
  const proxies: ProxyUnderTest[] = [];
  before(async () => {
    const echo = appHandler ?? echoHandler('app');
    app = await startHttpUpstream((req, res) => {
      hits += 1;
      echo(req, res);
    });
  });
  after(async () => {
    await app?.close();
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
  });
  return {
    get hits() {
      return hits;
    },
    get clusters() {
      return clusters;
    },
    async proxy(filters, routes = [route({ prefix: '/', cluster: 'app' })], hcm = {}, listener = {}) {
      clusters = new TestClusters();
      clusters.add('app', [app?.port ?? 0]);
      const p = await startProxy(
        routeConfig([vhost('v', ['*'], routes)]),
        clusters,
        { statPrefix: 'in', httpFilters: filters, ...hcm },
        undefined,
        listener,
        setup(undefined, caches),
      );
      proxies.push(p);
      return p;
    },
  };
}
