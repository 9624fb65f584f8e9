// A simulator worker thread: hosts a share of the simulated proxies and reports their events to the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, Mode, ToWorker, WorkerCounters } from './protocol.ts';
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

const events = {
  full: (p: SimProxy, at: number) => post({ type: 'full', id: p.spec.id, at }),
  watched: (p: SimProxy, watchId: number, at: number) => post({ type: 'watched', watchId, id: p.spec.id, at }),
  reset: (p: SimProxy, code: number, details: string) => {
    counters.resets++;
    post({ type: 'reset', id: p.spec.id, code, details });
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
