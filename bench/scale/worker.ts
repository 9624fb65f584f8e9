// A simulator worker thread: hosts a share of the simulated proxies and reports their events to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, Mode, ProxyEvent, ToWorker, WorkerCounters } from './protocol.ts';
import { SimProxy } from './sim-proxy.ts';

export interface WorkerInit {
  address: string;
  mode: Mode;
}

const port = parentPort;
if (!port) throw new Error('bench/scale/worker.ts runs as a worker thread');
const { address, mode } = workerData as WorkerInit;
const proxies = new Map<string, SimProxy>();
const counters: WorkerCounters = { messages: 0, bytes: 0, resets: 0, connected: 0 };
const post = (m: FromWorker): void => port.postMessage(m);
// Proxy events go out once per turn of the event loop: one message (and one wake-up of the main thread, which
// shares this core) per turn instead of per proxy. Their times are taken when they happen.
let batch: ProxyEvent[] = [];
const queue = (e: ProxyEvent): void => {
  if (batch.length === 0) setImmediate(flush);
  batch.push(e);
};
function flush(): void {
  post({ type: 'events', events: batch });
  batch = [];
}

const events = {
  full: (p: SimProxy, at: number) => queue({ type: 'full', id: p.spec.id, at }),
  watched: (p: SimProxy, watchId: number, at: number) => queue({ type: 'watched', watchId, id: p.spec.id, at }),
  reset: (p: SimProxy, code: number, details: string) => {
    counters.resets++;
    queue({ type: 'reset', id: p.spec.id, code, details });
  },
  received: (_p: SimProxy, bytes: number) => {
    counters.messages++;
    counters.bytes += bytes;
  },
};

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'connect':
      for (const spec of m.proxies) {
        const p = new SimProxy(spec, mode, address, events);
        proxies.set(spec.id, p);
        p.connect();
      }
      break;
    case 'disconnect':
      for (const id of m.ids) {
        proxies.get(id)?.close();
        proxies.delete(id);
      }
      break;
    case 'watch':
      for (const p of proxies.values()) if (!p.spec.extra) p.watch(m);
      break;
    case 'stats':
      counters.connected = [...proxies.values()].filter((p) => p.connected).length;
      post({ type: 'stats', requestId: m.requestId, counters: { ...counters } });
      break;
    case 'close':
      for (const p of proxies.values()) p.close();
      proxies.clear();
      post({ type: 'closed' });
      port.close();
      break;
  }
});
post({ type: 'ready' });
