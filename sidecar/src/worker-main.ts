// A worker thread of the sidecar (--concurrency): a Sidecar without an admin port on the process's listeners
// (SO_REUSEPORT), its config and workload certificate relayed by the main thread, answering stats, drain and stop.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Sidecar } from './sidecar.ts';
import type { WorkloadCertificate } from './tls/workload-identity.ts';
import { RelayedConfigSource } from './workers/relayed-config-source.ts';
import type { FromWorker, ToWorker, WorkerParams } from './workers/worker-protocol.ts';

async function run(port: NonNullable<typeof parentPort>, params: WorkerParams): Promise<void> {
  const post = (m: FromWorker): void => port.postMessage(m);
  const logger = pino({ level: params.logLevel, base: { ...params.logBase, worker: params.index } });
  const source = new RelayedConfigSource();
  const identity: { current: WorkloadCertificate | undefined } = { current: undefined };
  const tracing =
    params.tracing === undefined
      ? undefined
      : (await import('./observers/tracing/otlp-tracing.ts')).startTracing(params.tracing);
  const sidecar = new Sidecar({
    source,
    logger,
    concurrency: { threads: params.concurrency, index: params.index },
    connectionLimits: params.connectionLimits,
    ...(params.localZone === undefined ? {} : { localZone: params.localZone }),
    ...(params.identity ? { identity } : {}),
    ...(tracing === undefined ? {} : { observers: [tracing.factory] }),
    onStop: async () => {
      await tracing?.shutdown();
    },
  });
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'config': {
        const error = source.apply(m.resources);
        if (error !== undefined) post({ type: 'config-failed', error });
        return;
      }
      case 'identity':
        identity.current = m.certificate;
        return;
      case 'stats':
        post({ type: 'reply', id: m.id, snapshot: sidecar.admin.statsSnapshot() });
        return;
      case 'purge':
        post({ type: 'reply', id: m.id, purged: sidecar.purgeCaches(m.prefix) });
        return;
      case 'reopen-logs':
        sidecar.accessLogWriters.reopen();
        return;
      case 'log-level':
        if (m.key === 'level') sidecar.logLevels.setAll(m.level);
        else sidecar.logLevels.setComponent(m.key, m.level);
        return;
      case 'drain':
      case 'stop': {
        const done = m.type === 'drain' ? sidecar.drain(m.graceMs) : sidecar.stop(m.graceMs);
        done.then(
          () => post({ type: 'reply', id: m.id }),
          (err: unknown) => {
            logger.error({ err }, `worker ${m.type} failed`);
            post({ type: 'reply', id: m.id });
          },
        );
        return;
      }
    }
  });
  await sidecar.start();
  await sidecar.whenReady();
  post({ type: 'ready' });
}

if (parentPort === null) throw new Error('worker-main.ts runs in a worker thread of trellis-sidecar (--concurrency)');
await run(parentPort, workerData as WorkerParams);
