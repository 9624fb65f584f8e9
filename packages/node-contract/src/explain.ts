// What a sidecar's admin GET /explain answers (sidecar/src/admin/explain.ts) and trellisctl explain reads: where one
// request would go and why, as the proxy computes it.

export interface ExplainedCluster {
  name: string;
  weight: number;
  lbPolicy: string;
  hosts: { address: string; zone: string; weight: number; health: readonly string[] }[];
}

export interface Explanation {
  listener: { name: string; address: string; port: number; filters: string[] };
  routeConfig: string;
  virtualHost?: string;
  /**
   * Routes of the virtual host before the match (or all, when none matched), each with why it did not match (the
   * CONNECT-only route left out for other methods).
   */
  notMatched: { route: string; reason: string }[];
  route?: {
    name: string;
    action: 'forward' | 'redirect' | 'direct-response';
    timeoutMs?: number;
    retry?: { numRetries: number; perTryTimeoutMs: number; retryOn: string[] };
    clusters: ExplainedCluster[];
    /**
     * The HTTP filters that run for the route, each with the config it takes (the route's own, its virtual host's, or
     * the listener's) and, where the sidecar can say it in words, what that config does (a fault's abort and delay).
     */
    filters: { name: string; config: 'route' | 'virtual host' | 'listener'; does?: string }[];
    redirect?: unknown;
    directResponse?: { status: number };
  };
  /** Why the request would get no route (404 NR), when it would not. */
  noRoute?: string;
}
