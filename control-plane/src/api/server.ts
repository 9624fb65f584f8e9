// The operator API server: AdminService over gRPC (apply/get/list/delete/watch/proxy status) plus server reflection.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { ProxyTracker } from '../xds/proxy-status.ts';
import { loadAdminProto } from './admin-proto.ts';
import { applyResources } from './apply.ts';
import { deleteResource } from './delete.ts';
import { ApiError, optionalKind, requireKind, requireName } from './errors.ts';
import type {
  ApplyRequestMessage,
  DeleteRequestMessage,
  KindNameMessage,
  ListResponseMessage,
  ProxyStatusResponseMessage,
  ResourceMessage,
} from './messages.ts';
import { resourceToMessage } from './messages.ts';
import { proxyToMessage } from './proxy-status.ts';
import { createReflectionService } from './reflection.ts';
import { SerialQueue } from './serial-queue.ts';
import { serveWatch, type WatchCall } from './watch.ts';

export interface ApiServerOptions {
  store: Store;
  proxies: ProxyTracker;
  logger: Logger;
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface ApiServer {
  port: number;
  close(): Promise<void>;
}

/** How long close() lets unary calls finish before cancelling them. */
const SHUTDOWN_GRACE_MS = 5000;

type Handler<Req, Res> = (req: Req) => Promise<Res> | Res;

function unary<Req, Res>(method: string, logger: Logger, handler: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (err instanceof ApiError) {
            logger.info({ method, code: grpc.status[err.code], error: err.message }, 'request refused');
            callback({ code: err.code, details: err.message });
          } else {
            logger.error({ method, err }, 'request failed');
            callback({ code: grpc.status.INTERNAL, details: `internal error: ${(err as Error).message}` });
          }
        },
      );
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts the operator API; the store must already be open. Resolves once the port is bound. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { store, proxies, logger } = opts;
  const proto = loadAdminProto();
  const server = new grpc.Server();
  const watchers = new Set<() => void>();
  // Writes from this server run one at a time; ifRevision + retry covers writers elsewhere (other replicas).
  const writes = new SerialQueue();

  const implementation = {
    Apply: unary('Apply', logger, async (req: ApplyRequestMessage) => {
      const res = await writes.run(() => applyResources(store, req.resources, req.dry_run));
      for (const r of res.results) {
        if (r.action !== 'unchanged' && !req.dry_run)
          logger.info({ kind: r.kind, name: r.name, action: r.action }, 'applied');
      }
      return res;
    }),
    Get: unary('Get', logger, (req: KindNameMessage): ResourceMessage => {
      const key = { kind: requireKind(req.kind), name: requireName(req.name) };
      const r = store.get(key);
      if (!r) throw new ApiError(grpc.status.NOT_FOUND, `${key.kind} "${key.name}" not found`);
      return resourceToMessage(r);
    }),
    List: unary('List', logger, (req: { kind: string }): ListResponseMessage => {
      const revision = store.revision();
      return { resources: store.list(optionalKind(req.kind)).map(resourceToMessage), revision };
    }),
    Delete: unary('Delete', logger, async (req: DeleteRequestMessage) => {
      const res = await writes.run(() => deleteResource(store, req));
      if (!req.dry_run) logger.info({ kind: res.result.kind, name: res.result.name, action: 'deleted' }, 'deleted');
      return res;
    }),
    Watch: (call: WatchCall) => {
      let end: (() => void) | undefined;
      const done = () => {
        if (end) watchers.delete(end);
      };
      end = serveWatch(store, call, done);
      watchers.add(end);
    },
    ProxyStatus: unary(
      'ProxyStatus',
      logger,
      (): ProxyStatusResponseMessage => ({
        proxies: proxies.list().map(proxyToMessage),
      }),
    ),
  };
  server.addService(proto.service, implementation as unknown as grpc.UntypedServiceImplementation);
  createReflectionService(proto.packageDefinition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort(opts.host, opts.port), grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`cannot listen on ${hostPort(opts.host, opts.port)}: ${err.message}`)) : resolve(bound),
    );
  });
  logger.info({ host: opts.host, port }, 'operator API listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const end of [...watchers]) end();
      const timer = setTimeout(() => server.forceShutdown(), SHUTDOWN_GRACE_MS);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closing;
  };
  return { port, close };
}
