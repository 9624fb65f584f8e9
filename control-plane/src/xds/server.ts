// The xDS v3 ADS server: grpc-js servers (the mTLS port, and a plaintext one when asked for) running SotW and Delta
// streams over the snapshot cache; tracks proxies.
import {
  type handleBidiStreamingCall,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import { MAX_XDS_REQUEST_BYTES } from '../common/limits.ts';
import { LogLimiter, type LogLimiterOptions } from '../common/log-limiter.ts';
import { Admission, type AdmissionGate, type AdmissionOptions } from './admission.ts';
import { adsServiceDefinition } from './ads-service.ts';
import type { SessionDeps } from './ads-session.ts';
import { DeltaStream } from './delta-stream.ts';
import { InFlightBudget, type InFlightOptions } from './in-flight.ts';
import type { DeltaRequest, MalformedRequest, SotwRequest } from './messages.ts';
import type { ProxyEvent, ProxyStatus, ProxyTracker } from './proxy-status.ts';
import { ProxyTable } from './proxy-tracker.ts';
import { type PreEncoded, SHARED_RESPONSE_IDLE_MS, SharedResponses } from './shared-responses.ts';
import { SotwStream } from './sotw-stream.ts';
import { type NodeAuthorizer, type StreamPeer, streamPeerOf } from './stream-peer.ts';
import type { XdsObserver } from './xds-observer.ts';

export interface XdsServerOptions {
  cache: SnapshotCache;
  logger: Logger;
  observer?: XdsObserver;
  /** How per-request warnings are rate-limited (burst, interval); defaults from limits.ts. */
  warnings?: LogLimiterOptions;
  /** Pace of first configurations under a connect storm; defaults in admission.ts. */
  admission?: Partial<AdmissionOptions>;
  /** Bound on unanswered response bytes before new streams wait; defaults in in-flight.ts. */
  inFlight?: Partial<InFlightOptions>;
  /** May a node use its stream (the service it claims against its certificate); none = any node may. */
  authorize?: NodeAuthorizer;
  /** More services on the TLS port (the mesh CA's certificate signing service). */
  services?: readonly { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[];
}

/**
 * Server pings find proxies that vanished without closing their stream, so their endpoints get withdrawn; the
 * timeout is gRPC's default 20 s, so a proxy busy loading a large configuration is not taken for gone. A
 * DiscoveryRequest above MAX_XDS_REQUEST_BYTES ends its stream with RESOURCE_EXHAUSTED before it is decoded.
 */
const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.max_receive_message_length': MAX_XDS_REQUEST_BYTES,
};

/** host:port for grpc-js, bracketing IPv6 literals. */
function address(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The gate of later pushes: the in-flight budget, and no stream waiting for its first configuration. Under a connect
 * storm, pushes to streams that already hold a configuration wait until every new stream is served, then each gets
 * the newest state once instead of one update per publish round.
 */
function firstConfigurationsFirst(admission: Admission, inFlight: InFlightBudget): AdmissionGate {
  return {
    get open() {
      return admission.waiting === 0 && inFlight.open;
    },
    // While streams wait for admission, look again soon (admission grants at its own pace, with no release).
    nextExpiryMs: () => (admission.waiting > 0 ? ADMISSION_POLL_MS : inFlight.nextExpiryMs()),
    onRelease: (listener) => inFlight.onRelease(listener),
  };
}

const ADMISSION_POLL_MS = 50;

/**
 * A port's transport: mTLS (streams must show a verified workload certificate; the extra services are served there
 * too) or plaintext (opt-in: anyone reaching it gets configuration; only ADS is served).
 */
export type XdsTransport = { kind: 'mtls'; credentials: ServerCredentials } | { kind: 'plaintext' };

export class XdsServer implements ProxyTracker {
  readonly #cache: SnapshotCache;
  readonly #logger: Logger;
  readonly #table: ProxyTable;
  readonly #observer: XdsObserver | undefined;
  readonly #warnings: LogLimiter;
  readonly #admission: Admission;
  /** Pushes to streams that hold a configuration, queued while the in-flight budget is spent. */
  readonly #pushes: Admission;
  readonly #responses = new SharedResponses();
  #expiry: NodeJS.Timeout | undefined;
  readonly #inFlight: InFlightBudget;
  readonly #services: NonNullable<XdsServerOptions['services']>;
  readonly #authorize: NodeAuthorizer | undefined;
  readonly #servers: Server[] = [];
  #closed = false;
  #streams = 0;

  constructor(opts: XdsServerOptions) {
    this.#cache = opts.cache;
    this.#logger = opts.logger;
    this.#table = new ProxyTable(opts.logger);
    this.#observer = opts.observer;
    this.#warnings = new LogLimiter(opts.warnings);
    this.#inFlight = new InFlightBudget(opts.inFlight);
    this.#services = opts.services ?? [];
    this.#authorize = opts.authorize;
    this.#admission = new Admission(opts.admission, undefined, this.#inFlight);
    this.#pushes = new Admission(
      { ratePerSecond: 0 },
      undefined,
      firstConfigurationsFirst(this.#admission, this.#inFlight),
    );
  }

  /**
   * Starts serving ADS on host:port with `transport` (plaintext by default; the control plane's TLS port passes
   * mTLS); port 0 picks a free port. May be called once per port. Resolves with the bound port.
   */
  listen(host: string, port: number, transport: XdsTransport = { kind: 'plaintext' }): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('xDS server is closed'));
    const server = new Server(SERVER_OPTIONS);
    const sotw: handleBidiStreamingCall<SotwRequest | MalformedRequest, PreEncoded> = (call) => {
      const deps = this.#deps(call, transport.kind);
      if (deps !== undefined) new SotwStream(call, deps);
    };
    const delta: handleBidiStreamingCall<DeltaRequest | MalformedRequest, PreEncoded> = (call) => {
      const deps = this.#deps(call, transport.kind);
      if (deps !== undefined) new DeltaStream(call, deps);
    };
    const impl = { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta };
    server.addService(adsServiceDefinition, impl as UntypedServiceImplementation);
    if (transport.kind === 'mtls') for (const s of this.#services) server.addService(s.definition, s.implementation);
    this.#servers.push(server);
    // Old rounds' shared responses go once idle (a quarter of the idle time late at most).
    if (this.#expiry === undefined) {
      this.#expiry = setInterval(() => this.#responses.expire(), SHARED_RESPONSE_IDLE_MS / 4);
      this.#expiry.unref();
    }
    const credentials = transport.kind === 'mtls' ? transport.credentials : ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => {
      server.bindAsync(address(host, port), credentials, (err, bound) => {
        if (err) {
          this.#servers.splice(this.#servers.indexOf(server), 1);
          server.forceShutdown();
          reject(err);
          return;
        }
        this.#logger.info({ host, port: bound, transport: transport.kind }, 'xDS server listening');
        resolve(bound);
      });
    });
  }

  /** Stops accepting streams, waits up to graceMs for open streams to end, then cancels the rest. */
  close(graceMs = 5000): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const servers = this.#servers.splice(0);
    clearInterval(this.#expiry);
    const shutdown = (server: Server): Promise<void> =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#logger.info({ open: this.#table.list().length }, 'xDS grace period over: cancelling open streams');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    return Promise.all(servers.map(shutdown)).then(() => {
      this.#admission.close();
      this.#pushes.close();
      this.#warnings.close();
    });
  }

  /** Unanswered response bytes, streams waiting for their first configuration or for a push (metrics). */
  load(): { inFlightBytes: number; admissionWaiting: number; pushWaiting: number } {
    return {
      inFlightBytes: this.#inFlight.bytes,
      admissionWaiting: this.#admission.waiting,
      pushWaiting: this.#pushes.waiting,
    };
  }

  list(): ProxyStatus[] {
    return this.#table.list();
  }

  onEvent(listener: (e: ProxyEvent) => void): () => void {
    return this.#table.onEvent(listener);
  }

  /** A new stream's dependencies; undefined when its client is refused (the call is ended with UNAUTHENTICATED). */
  #deps(
    call: Parameters<typeof streamPeerOf>[0] & { getPeer(): string; emit(event: 'error', e: object): boolean },
    transport: XdsTransport['kind'],
  ): SessionDeps | undefined {
    const peer: StreamPeer | { refused: string } = streamPeerOf(call, transport);
    if ('refused' in peer) {
      this.#warnings.warn(this.#logger, { peer: call.getPeer(), reason: peer.refused }, 'ADS stream refused');
      call.emit('error', { code: status.UNAUTHENTICATED, details: peer.refused });
      return undefined;
    }
    this.#streams += 1;
    const deps: SessionDeps = {
      peer,
      cache: this.#cache,
      table: this.#table,
      logger: this.#logger,
      warnings: this.#warnings,
      streamId: String(this.#streams),
      admission: this.#admission,
      pushes: this.#pushes,
      responses: this.#responses,
      inFlight: this.#inFlight,
    };
    if (this.#observer) deps.observer = this.#observer;
    if (this.#authorize) deps.authorize = this.#authorize;
    return deps;
  }
}
