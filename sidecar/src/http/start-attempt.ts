// Starts one try of a request on a host over its cluster's protocol (HTTP/1.1 pool or HTTP/2 session).
import type { Readable } from 'node:stream';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { H1Attempt } from './h1-attempt.ts';
import { H2Attempt } from './h2-attempt.ts';
import { type HeaderList, headerListToObject } from './header-list.ts';
import type { AttemptSink, UpstreamAttempt } from './upstream-attempt.ts';
import type { UpstreamPools } from './upstream-pools.ts';

/** The request as every attempt sends it. HTTP/1.1 headers carry Host; HTTP/2 gets :authority instead. */
export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  headers: HeaderList;
  body: Readable | null;
}

export function startAttempt(
  sink: AttemptSink,
  pools: UpstreamPools,
  cluster: Cluster,
  host: Host,
  req: UpstreamRequest,
): UpstreamAttempt {
  if (cluster.config.protocol === 'http2') {
    const attempt = new H2Attempt(sink, host);
    const headers: Record<string, string | string[]> = {
      ':method': req.method,
      ':path': req.path,
      ':authority': req.authority,
      ':scheme': 'http',
    };
    headerListToObject(req.headers, headers);
    attempt.start(pools.h2(cluster, host), headers, req.body);
    return attempt;
  }
  const attempt = new H1Attempt(sink, host, req.method, req.path, req.headers, req.body);
  attempt.start(pools.h1(cluster, host));
  return attempt;
}
