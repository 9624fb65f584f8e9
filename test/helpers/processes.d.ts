import { type ChildProcess } from 'node:child_process';
export declare const REPO_ROOT: string;
export declare const BIN: {
  controlPlane: string;
  trellisctl: string;
};
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a bin with node to completion (input on stdin), bounded by timeoutMs. */
export declare function run(bin: string, args: string[], input?: string, timeoutMs?: number): Promise<RunResult>;
export interface Daemon {
  child: ChildProcess;
  /** Parsed JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line matching pred (bounded by timeoutMs). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends a signal and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}
/** Starts a long-running bin whose stdout is JSON log lines (pino). */
export declare function startDaemon(bin: string, args: string[], env?: NodeJS.ProcessEnv): Daemon;
export interface ControlPlaneProcess {
  daemon: Daemon;
  /** host:port of the operator API. */
  api: string;
  xdsPort: number;
  /** The control plane's metrics port (GET /metrics, /healthz). */
  metricsPort: number;
}
/** The control plane's flags for a test: dataDir, every port picked by the OS on loopback. */
export declare function controlPlaneArgs(dataDir: string): string[];
/** Starts the real trellis-control-plane bin on dataDir with its ports picked by the OS, once it is listening. */
export declare function startControlPlaneProcess(dataDir: string, extraArgs?: string[]): Promise<ControlPlaneProcess>;
