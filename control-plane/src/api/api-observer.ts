// What the operator API reports about each call (for metrics and tracing): method, resources, outcome.
import type { status } from '@grpc/grpc-js';

export interface ApiCallInfo {
  /** The RPC name, e.g. "Apply". */
  method: string;
  /** What the call names, as "Kind/name" (or just "Kind" for lists). */
  resources: string[];
  dryRun?: boolean;
}

/** One call in progress. */
export interface ApiCallScope {
  /** Runs the handler so that work it causes (store commits, pushes) can be attributed to this call. */
  run<T>(fn: () => T): T;
  /** The call finished with this status (OK or the error's code); `detail` adds facts learned while handling it. */
  end(code: status, error?: string, detail?: Readonly<Record<string, string | number | boolean>>): void;
}

export interface ApiObserver {
  begin(info: ApiCallInfo): ApiCallScope;
}
