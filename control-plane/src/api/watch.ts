// Watch: streams the current state as ADDED events, then every committed change, until the caller goes away.
import { type ServerWritableStream, status } from '@grpc/grpc-js';
import type { Store } from '../store/store.ts';
import type { ApiCallScope } from './api-observer.ts';
import { type ApiError, optionalKind } from './errors.ts';
import { resourceToMessage, type WatchEventMessage } from './messages.ts';

/** A watcher that falls this many events behind is dropped (RESOURCE_EXHAUSTED) instead of buffering forever. */
export const MAX_WATCH_BACKLOG = 10_000;

export interface WatchRequestMessage {
  kind: string;
}

export type WatchCall = ServerWritableStream<WatchRequestMessage, WatchEventMessage>;

/**
 * Serves one Watch call; returns a function that ends it (used on server shutdown). `scope` hears how it ended: OK
 * when either side ended it (a client going away is how a watch normally ends: `trellis.ended_by`), else the error
 * sent, with the events sent.
 */
export function serveWatch(store: Store, call: WatchCall, onDone: () => void, scope?: ApiCallScope): () => void {
  let kind: ReturnType<typeof optionalKind>;
  try {
    kind = optionalKind(call.request.kind);
  } catch (err) {
    const e = err as ApiError;
    call.emit('error', { code: e.code, details: e.message });
    scope?.end(e.code, e.message);
    onDone();
    return () => undefined;
  }
  let done = false;
  let sent = 0;
  // Set once subscribed; a watcher that falls behind while the current state is sent ends before that.
  let unsubscribe = (): void => {};
  const finish = (error?: { code: status; details: string }) => {
    if (done) return;
    done = true;
    unsubscribe();
    const cancelled = call.cancelled;
    if (error) call.emit('error', error);
    else if (!cancelled) call.end();
    scope?.end(error?.code ?? status.OK, error?.details, {
      'trellis.events': sent,
      'trellis.ended_by': error !== undefined || !cancelled ? 'server' : 'client',
    });
    onDone();
  };
  const send = (event: WatchEventMessage) => {
    if (done) return;
    if (call.writableLength > MAX_WATCH_BACKLOG) {
      finish({ code: status.RESOURCE_EXHAUSTED, details: 'watcher fell too far behind; watch again' });
      return;
    }
    sent++;
    call.write(event);
  };
  // list() and watch() run in the same tick, and commits notify asynchronously, so no change falls in between.
  const revision = store.revision();
  for (const r of store.list(kind)) send({ type: 'ADDED', resource: resourceToMessage(r), revision });
  if (done) return () => undefined;
  unsubscribe = store.watch((events) => {
    for (const e of events) {
      if (kind === undefined || e.resource.kind === kind) {
        send({ type: e.type, resource: resourceToMessage(e.resource), revision: e.revision });
      }
    }
  });
  call.on('cancelled', () => finish());
  call.on('close', () => finish());
  return () => finish();
}
