// Messages between the scale benchmark's main thread and its simulator workers.

export type Mode = 'delta' | 'sotw';

/** One simulated sidecar: its node identity and the endpoint it registers. */
export interface ProxySpec {
  id: string;
  service: string;
  address: string;
  port: number;
  version: 'v1' | 'v2';
  /** Extra proxies (joins/leaves) are left out of the message and byte counters. */
  extra: boolean;
}

/** What a watch waits for: a response of this type, ACKed, carrying a resource whose name starts with prefix. */
export interface WatchSpec {
  watchId: number;
  typeUrl: string;
  /** '' = any resource of the type. */
  namePrefix: string;
}

export type ToWorker =
  | { type: 'connect'; proxies: ProxySpec[] }
  | { type: 'disconnect'; ids: string[] }
  | ({ type: 'watch' } & WatchSpec)
  | { type: 'stats'; requestId: number }
  | { type: 'close' };

export interface WorkerCounters {
  /** Responses received by the non-extra proxies. */
  messages: number;
  bytes: number;
  /** Streams ended by the server (a gRPC status the simulator did not cause). */
  resets: number;
  connected: number;
}

/** What happened to one proxy; a worker sends them in batches. */
export type ProxyEvent =
  | { type: 'full'; id: string; at: number }
  | { type: 'watched'; watchId: number; id: string; at: number }
  | { type: 'reset'; id: string; code: number; details: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'events'; events: ProxyEvent[] }
  | { type: 'stats'; requestId: number; counters: WorkerCounters }
  | { type: 'closed' };

/** Wall-clock milliseconds with sub-ms precision, comparable between threads. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
