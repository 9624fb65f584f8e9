// The operator API server: AdminService over gRPC (apply/get/list/delete/watch, proxy status, config dump, mesh
// stats) plus server reflection; every call reported to an optional observer (metrics, spans).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MAX_API_REQUEST_BYTES } from '../common/limits.ts';
import type { ControlPlaneTrust, JoinTokens } from '../identity/join-tokens.ts';
import type { Store } from '../store/store.ts';
import type { ProxyTracker } from '../xds/proxy-status.ts';
import { loadAdminProto } from './admin-proto.ts';
import type { ApiAuth } from './api-auth.ts';
import type { ApiCallInfo, ApiObserver } from './api-observer.ts';
import { applyResources } from './apply.ts';
import { configDump, type SnapshotSource } from './config-dump.ts';
import { deleteResource } from './delete.ts';
import { ApiError, requireKind, requireName } from './errors.ts';
import { createJoinToken } from './join-token.ts';
import { listPage } from './list.ts';
import { meshStats } from './mesh-stats.ts';
import type {
  ApplyRequestMessage,
  CreateJoinTokenRequestMessage,
  DeleteRequestMessage,
  KindNameMessage,
  ListRequestMessage,
  MeshStatsRequestMessage,
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
  /** The snapshot each proxy reads (ConfigDump); without it ConfigDump answers UNAVAILABLE. */
  snapshots?: SnapshotSource;
  /** Told about every call (metrics, tracing). */
  observer?: ApiObserver;
  logger: Logger;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Credentials every call needs (`--api-tokens`); absent: none (an API on loopback only). */
  auth?: ApiAuth;
  /** The mesh CA's trust domain and join-token issuer (CreateJoinToken); without it CreateJoinToken is UNAVAILABLE. */
  identity?: { trust: ControlPlaneTrust; tokens: JoinTokens };
}

export interface ApiServer {
  port: number;
  close(): Promise<void>;
}

/** How long close() lets unary calls finish before cancelling them. */
const SHUTDOWN_GRACE_MS = 5000;

type Handler<Req, Res> = (req: Req) => Promise<Res> | Res;

/** What a request names, for the observer: "Kind/name" per resource, or the kind alone. */
function describeCall(method: string, req: unknown): ApiCallInfo {
  const r = (req ?? {}) as {
    kind?: string;
    name?: string;
    node_id?: string;
    dry_run?: boolean;
    resources?: { kind?: string; metadata?: { name?: string } | null }[];
  };
  const info: ApiCallInfo = { method, resources: [] };
  if (Array.isArray(r.resources)) {
    info.resources = r.resources.map((m) => `${m.kind || '?'}/${m.metadata?.name || '?'}`);
  } else if (r.kind) {
    info.resources = [r.name ? `${r.kind}/${r.name}` : r.kind];
  } else if (r.node_id) {
    info.resources = [`Proxy/${r.node_id}`];
  }
  if (typeof r.dry_run === 'boolean') info.dryRun = r.dry_run;
  return info;
}

function unary<Req, Res>(
  method: string,
  logger: Logger,
  observer: ApiObserver | undefined,
  handler: Handler<Req, Res>,
  detail?: (res: Res) => Readonly<Record<string, string | number | boolean>>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const scope = observer?.begin(describeCall(method, call.request));
    const run = () => Promise.resolve().then(() => handler(call.request));
    (scope ? scope.run(run) : run()).then(
      (res) => {
        scope?.end(grpc.status.OK, undefined, detail?.(res));
        callback(null, res);
      },
      (err: unknown) => {
        if (err instanceof ApiError) {
          logger.info({ method, code: grpc.status[err.code], error: err.message }, 'request refused');
          scope?.end(err.code, err.message);
          callback({ code: err.code, details: err.message });
        } else {
          logger.error({ method, err }, 'request failed');
          scope?.end(grpc.status.INTERNAL, (err as Error).message);
          callback({ code: grpc.status.INTERNAL, details: `internal error: ${(err as Error).message}` });
        }
      },
    );
  };
}

type AnyHandler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => void;

/** A handler that first checks the call's credentials: a refusal ends the call (unary or streaming) with its code. */
function guarded(method: string, handler: AnyHandler, auth: ApiAuth, logger: Logger): AnyHandler {
  return (call, callback) => {
    const refused = auth.check(call.metadata, method);
    if (refused === undefined) {
      handler(call, callback);
      return;
    }
    logger.info({ method, code: grpc.status[refused.code], peer: call.getPeer() }, 'request refused: credentials');
    const status = { code: refused.code, details: refused.message };
    if (callback !== undefined) callback(status);
    else call.emit('error', status);
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts the operator API; the store must already be open. Resolves once the port is bound. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { store, proxies, logger, observer } = opts;
  const proto = loadAdminProto();
  // An Apply batch is the largest request; gRPC's default receive limit, stated (docs/hardening.md).
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_API_REQUEST_BYTES });
  const watchers = new Set<() => void>();
  // Writes from this server run one at a time; ifRevision + retry covers writers elsewhere (other replicas).
  const writes = new SerialQueue();

  const implementation = {
    Apply: unary(
      'Apply',
      logger,
      observer,
      async (req: ApplyRequestMessage) => {
        const res = await writes.run(() => applyResources(store, req.resources, req.dry_run));
        for (const r of res.results) {
          if (r.action !== 'unchanged' && !req.dry_run)
            logger.info({ kind: r.kind, name: r.name, action: r.action }, 'applied');
        }
        return res;
      },
      (res) => ({
        'trellis.revision': res.revision,
        'trellis.changed': res.results.filter((r) => r.action !== 'unchanged').length,
      }),
    ),
    Get: unary('Get', logger, observer, (req: KindNameMessage): ResourceMessage => {
      const key = { kind: requireKind(req.kind), name: requireName(req.name) };
      const r = store.get(key);
      if (!r) throw new ApiError(grpc.status.NOT_FOUND, `${key.kind} "${key.name}" not found`);
      return resourceToMessage(r);
    }),
    List: unary(
      'List',
      logger,
      observer,
      (req: ListRequestMessage) => listPage(store, req),
      (res) => ({ 'trellis.resources': res.resources.length, 'trellis.more': res.next_page_token !== '' }),
    ),
    Delete: unary('Delete', logger, observer, async (req: DeleteRequestMessage) => {
      const res = await writes.run(() => deleteResource(store, req));
      if (!req.dry_run) logger.info({ kind: res.result.kind, name: res.result.name, action: 'deleted' }, 'deleted');
      return res;
    }),
    Watch: (call: WatchCall) => {
      let end: (() => void) | undefined;
      let ended = false;
      const done = () => {
        ended = true;
        if (end) watchers.delete(end);
      };
      end = serveWatch(store, call, done, observer?.begin(describeCall('Watch', call.request)));
      // A call refused at once (a bad kind) is over before serveWatch returns: nothing to end on shutdown.
      if (!ended) watchers.add(end);
    },
    ProxyStatus: unary(
      'ProxyStatus',
      logger,
      observer,
      (): ProxyStatusResponseMessage => ({
        proxies: proxies.list().map(proxyToMessage),
      }),
    ),
    ConfigDump: unary('ConfigDump', logger, observer, (req: { node_id: string }) => {
      if (!opts.snapshots) throw new ApiError(grpc.status.UNAVAILABLE, 'this server has no snapshot cache');
      return configDump(proxies, opts.snapshots, req.node_id);
    }),
    CreateJoinToken: unary('CreateJoinToken', logger, observer, (req: CreateJoinTokenRequestMessage) => {
      const identity = opts.identity;
      if (!identity) throw new ApiError(grpc.status.UNAVAILABLE, 'this server has no mesh CA');
      return createJoinToken(identity.trust, identity.tokens, req, logger);
    }),
    MeshStats: unary(
      'MeshStats',
      logger,
      observer,
      (req: MeshStatsRequestMessage) => meshStats(proxies, req),
      (res) => ({
        'trellis.proxies': res.proxies.length,
        'trellis.proxies_failed': res.proxies.filter((p) => p.error !== '').length,
      }),
    ),
  };
  const handlers = implementation as unknown as Record<string, AnyHandler>;
  const auth = opts.auth;
  if (auth !== undefined)
    for (const [method, handler] of Object.entries(handlers)) handlers[method] = guarded(method, handler, auth, logger);
  server.addService(proto.service, handlers as unknown as grpc.UntypedServiceImplementation);
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
