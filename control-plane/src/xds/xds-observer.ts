// What the xDS server reports as it works (pushes written, ACKs, NACKs, streams gone), for metrics and tracing.
import type { ProxyRecord } from './proxy-tracker.ts';

/** One response written on a stream. */
export interface XdsPush {
  record: ProxyRecord;
  typeUrl: string;
  /** SotW version_info, or the Delta type's version hash. */
  version: string;
  nonce: string;
  /** Resources carried (Delta: updated ones) and, for Delta, names removed. */
  resourceCount: number;
  removedCount: number;
}

/** Every method is called synchronously on the xDS path: implementations must be cheap and must not throw. */
export interface XdsObserver {
  pushed(push: XdsPush): void;
  acked(record: ProxyRecord, typeUrl: string, nonce: string, version: string): void;
  nacked(record: ProxyRecord, typeUrl: string, nonce: string, error: string): void;
  /** Flow control held back a push of a new snapshot until the client answers the one in flight. */
  deferred(record: ProxyRecord, typeUrl: string): void;
  /** After an answer, the client holds the newest state of the type: nothing more is sent for now. */
  caughtUp(record: ProxyRecord, typeUrl: string): void;
  /** The stream ended (its pending pushes will never be answered). */
  closed(record: ProxyRecord): void;
}
