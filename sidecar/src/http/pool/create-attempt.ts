// Builds one try of a request on a host over its cluster's protocol (HTTP/1.1 pool or HTTP/2 session).
import type { Readable } from 'node:stream';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import { type HeaderList, headerListToObject } from '../message/header-list.ts';
import { H1Attempt } from './h1-attempt.ts';
import { H2Attempt } from './h2-attempt.ts';
import type { AttemptSink, UpstreamAttempt } from './upstream-attempt.ts';
import type { UpstreamPools } from './upstream-pools.ts';

/** The request as every attempt sends it; the authority goes out as Host (HTTP/1.1) or :authority (HTTP/2). */
export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  headers: HeaderList;
  body: Readable | null;
}

/** A not yet started attempt of `req` on `host` (call start() once it is recorded as the current attempt). */
export function createAttempt(
  sink: AttemptSink,
  pools: UpstreamPools,
  cluster: Cluster,
  host: Host,
  req: UpstreamRequest,
): UpstreamAttempt {
  if (cluster.config.protocol === 'http2') {
    const headers: Record<string, string | string[]> = {
      ':method': req.method,
      ':path': req.path,
      ':authority': req.authority,
      ':scheme': 'http',
    };
    headerListToObject(req.headers, headers);
    return new H2Attempt(sink, host, pools.h2(cluster, host), headers, req.body);
  }
  return new H1Attempt(sink, host, pools.h1(cluster, host), req.method, req.path, req.authority, req.headers, req.body);
}
