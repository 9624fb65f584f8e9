// What the sidecar's main thread and its worker threads (--concurrency) say to each other: the config as xDS resource
// bytes, the workload certificate, stats requests and drain/stop, and the workers' replies.
import type { LogLevel } from '../admin/log-levels.ts';
import type { StatsSnapshot } from '../common/stats.ts';
import type { TracingSettings } from '../observers/tracing/tracing-config.ts';
import type { WorkloadCertificate } from '../tls/workload-identity.ts';
import type { ResourceExport } from '../xds/resource-store.ts';

/** What a worker needs to build its Sidecar (structured-clonable: no functions, no class instances). */
export interface WorkerParams {
  /** 1 … concurrency-1 (the main thread is worker 0). */
  index: number;
  concurrency: number;
  logLevel: string;
  /** The logger's base fields (proxy, service). */
  logBase: Record<string, string>;
  connectionLimits: { maxConnections: number; maxConnectionsPerClientIp: number };
  localZone?: string;
  /** Tracing settings when tracing is on (each worker exports its own spans). */
  tracing?: TracingSettings;
  /** Whether the sidecar holds a workload identity (its certificate follows in 'identity' messages). */
  identity: boolean;
}

export type ToWorker =
  | { type: 'config'; resources: ResourceExport }
  | { type: 'identity'; certificate: WorkloadCertificate }
  | { type: 'stats'; id: number }
  | { type: 'purge'; id: number; prefix: string }
  | { type: 'reopen-logs' }
  | { type: 'log-level'; key: string; level: LogLevel }
  | { type: 'drain'; id: number; graceMs: number }
  | { type: 'stop'; id: number; graceMs: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reply'; id: number; snapshot?: Required<StatsSnapshot>; purged?: number }
  | { type: 'config-failed'; error: string };

/** The worker threads beside the main one (workers/worker-pool.ts). */
export interface SidecarWorkers {
  /** Each worker's admin stats snapshot (a worker that does not answer in time is left out). */
  snapshots(): Promise<Required<StatsSnapshot>[]>;
  /** Resolves once every worker is LIVE (its listeners bound with the config). */
  ready(): Promise<void>;
  /** SIGUSR1: the workers reopen their access log files too. */
  reopenLogs(): void;
  /** POST /logging: `level` (every logger) or a component's, in every worker. */
  setLogLevel(key: string, level: LogLevel): void;
  /** Drops the workers' HTTP cache entries under `prefix` (POST /cache/purge); how many. */
  purgeCaches(prefix: string): Promise<number>;
  drain(graceMs: number): Promise<void>;
  stop(graceMs: number): Promise<void>;
}
