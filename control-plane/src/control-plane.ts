// Assembles the control plane: store → registry → translator → snapshot cache → xDS server, plus the operator API and
// the control plane's own telemetry (metrics port, tracing).

import { experimental, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { certificateServiceDefinition } from '@trellis/identity';
import { clientKindOf, nodeGroupOf, parseNodeGroup } from '@trellis/node-contract';
import type { Logger } from 'pino';
import type { ApiAuth } from './api/api-auth.ts';
import { startApiServer } from './api/server.ts';
import { JwksFetcher } from './authn/jwks-fetcher.ts';
import { Snapshot } from './cache/snapshot.ts';
import { SnapshotCache } from './cache/snapshot-cache.ts';
import { LogLimiter } from './common/log-limiter.ts';
import { certificateService } from './identity/certificate-service.ts';
import { JoinTokens } from './identity/join-tokens.ts';
import { MeshCa } from './identity/mesh-ca.ts';
import { ServingCertificate } from './identity/serving-certificate.ts';
import { Debouncer } from './publish/debouncer.ts';
import { loadAssignmentsOf, sameLoadAssignments, withLoadAssignments } from './publish/load-assignments.ts';
import { type AnnouncementPolicy, DEFAULT_ANNOUNCEMENT_POLICY } from './registry/announcement-policy.ts';
import { EndpointRegistry } from './registry/endpoint-registry.ts';
import { loadEndpoints, saveEndpoints } from './registry/endpoint-store.ts';
import type {
  AuthorizationPolicyResource,
  GatewayResource,
  PeerAuthenticationResource,
  RequestAuthenticationResource,
  RouteResource,
  ServiceResource,
  TelemetryResource,
  TrafficPolicyResource,
} from './resources/types.ts';
import type { Store } from './store/store.ts';
import { ControlPlaneTelemetry } from './telemetry/control-plane-telemetry.ts';
import { type MetricsServer, startMetricsServer } from './telemetry/metrics-server.ts';
import type { Tracing } from './telemetry/tracing-target.ts';
import type { MeshState } from './translator/mesh-state.ts';
import type { MeshIdentity } from './translator/mesh-tls.ts';
import { jwksUris } from './translator/request-authentication.ts';
import { translateWithWarnings } from './translator/translate.ts';
import type { AdmissionOptions } from './xds/admission.ts';
import type { InFlightOptions } from './xds/in-flight.ts';
import type { ProxyTracker } from './xds/proxy-status.ts';
import { XdsServer } from './xds/server.ts';
import { serviceBinding } from './xds/stream-peer.ts';

/** Defaults of the publish debounce: Istio's 100 ms quiet period; 1 s max keeps endpoint changes within 1 s. */
export const DEFAULT_DEBOUNCE = { quietMs: 100, maxMs: 1000 } as const;

/** What changed since the last publish round: operator resources (full translation) or endpoints only (EDS). */
type ChangeKind = 'store' | 'registry';

export interface ControlPlaneOptions {
  store: Store;
  logger: Logger;
  xdsHost: string;
  /** The xDS port: TLS, every ADS stream shows a workload certificate; the mesh CA's signing service is here too. */
  xdsPort: number;
  /**
   * A plaintext xDS port as well (`--xds-insecure-port`), for clients without certificates (proxyless gRPC): anyone
   * reaching it reads the configuration. None by default.
   */
  xdsInsecurePort?: number;
  /** Who may announce endpoints: plaintext proxies (default not), at which addresses (default their own). */
  announcements?: Partial<AnnouncementPolicy>;
  apiHost: string;
  apiPort: number;
  /** How long an announced endpoint outlives its proxy's stream (a reconnect within it does not flap). */
  endpointGraceMs: number;
  /** Serve GET /metrics and /healthz here (port 0 = any free port); no metrics port when metricsPort is absent. */
  metricsHost?: string;
  metricsPort?: number;
  /** Spans of API calls and xDS pushes; default none. Not shut down by stop(): its owner flushes it after. */
  tracing?: Tracing;
  /** Publish rounds wait for this long without changes (default DEFAULT_DEBOUNCE.quietMs). */
  debounceQuietMs?: number;
  /** ...but no longer than this after the first change of a burst (default DEFAULT_DEBOUNCE.maxMs). */
  debounceMaxMs?: number;
  /** How fast first configurations are served to new streams (default: see xds/admission.ts). */
  admission?: Partial<AdmissionOptions>;
  /** Unanswered response bytes past which new streams wait (default: see xds/in-flight.ts). */
  inFlight?: Partial<InFlightOptions>;
  /** Credentials the operator API needs (`--api-tokens`); absent: none. */
  apiAuth?: ApiAuth;
  /** Where the mesh CA's root and the join-token key live (`<dataDir>/ca/`); without it, both live in memory. */
  dataDir?: string;
  /** How often JWKS fetched for RequestAuthentication jwksUri are fetched again (default 20 min). */
  jwksRefreshMs?: number;
  /** The mesh CA: trust domain (default cluster.local), a plug-in CA directory, workload certificate lifetime. */
  identity?: {
    trustDomain?: string;
    pluginDir?: string;
    workloadTtlMs?: number;
    minWorkloadTtlMs?: number;
    /**
     * Mesh mTLS for sidecars holding a workload certificate: permissive (default: their inbound takes mTLS and
     * plaintext), strict (mTLS only), off (no TLS anywhere).
     */
    mtls?: 'off' | 'permissive' | 'strict';
  };
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
/** How often announced endpoints are written to the data dir at most while they change. */
const ENDPOINT_SAVE_MS = 500;

/** A running control plane; `start` opens the store and binds both gRPC ports. */
export class ControlPlane {
  /** The bound xDS TLS port. */
  readonly xdsPort: number;
  /** The bound plaintext xDS port, when one was asked for. */
  readonly xdsInsecurePort: number | undefined;
  readonly apiPort: number;
  /** The bound metrics port, when one was asked for. */
  readonly metricsPort: number | undefined;
  readonly telemetry: ControlPlaneTelemetry;
  /** The proxies connected to the xDS server (read side). */
  readonly proxies: ProxyTracker;
  private readonly opts: ControlPlaneOptions;
  private readonly cache: SnapshotCache;
  private readonly registry: EndpointRegistry;
  private readonly xds: XdsServer;
  private readonly cleanups: (() => void)[];
  private readonly closeApi: () => Promise<void>;
  private readonly metricsServer: MetricsServer | undefined;
  private readonly identity: MeshIdentity | undefined;
  private version = 0;
  private readonly debouncer: Debouncer<ChangeKind>;
  /** JWKS of RequestAuthentication jwksUri, fetched here and sent inline. */
  private readonly jwks: JwksFetcher;
  /** Groups that have a snapshot in the cache. */
  private readonly published = new Set<string>();
  private readonly lastWarnings = new Map<string, string>();
  /** Writes the announced endpoints to the data dir now (stop); none without a data dir. */
  private saveEndpoints: (() => void) | undefined;

  private constructor(
    opts: ControlPlaneOptions,
    parts: {
      cache: SnapshotCache;
      registry: EndpointRegistry;
      xds: XdsServer;
      xdsPort: number;
      xdsInsecurePort: number | undefined;
      telemetry: ControlPlaneTelemetry;
      metrics: MetricsServer | undefined;
      identity: MeshIdentity | undefined;
    },
    api: { port: number; close(): Promise<void> },
    cleanups: (() => void)[],
  ) {
    this.opts = opts;
    this.cache = parts.cache;
    this.registry = parts.registry;
    this.xds = parts.xds;
    this.proxies = parts.xds;
    this.xdsPort = parts.xdsPort;
    this.xdsInsecurePort = parts.xdsInsecurePort;
    this.telemetry = parts.telemetry;
    this.metricsServer = parts.metrics;
    this.identity = parts.identity;
    this.metricsPort = parts.metrics?.port;
    this.apiPort = api.port;
    this.closeApi = api.close;
    this.cleanups = cleanups;
    this.debouncer = new Debouncer<ChangeKind>(
      {
        quietMs: opts.debounceQuietMs ?? DEFAULT_DEBOUNCE.quietMs,
        maxMs: opts.debounceMaxMs ?? DEFAULT_DEBOUNCE.maxMs,
      },
      (kinds) => this.publishRound(kinds),
    );
    cleanups.push(() => this.debouncer.close());
    this.jwks = new JwksFetcher({
      ...(opts.jwksRefreshMs === undefined ? {} : { refreshMs: opts.jwksRefreshMs }),
      logger: opts.logger.child({ component: 'jwks' }),
      // New keys change what sidecars verify with: a full round, as an operator change.
      onChange: () => this.debouncer.change('store'),
    });
    cleanups.push(() => this.jwks.close());
  }

  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const { store, logger } = opts;
    await store.open();
    const registrations = new LogLimiter();
    const registryLog = logger.child({ component: 'registry' });
    const registry = new EndpointRegistry({
      graceMs: opts.endpointGraceMs,
      policy: { ...DEFAULT_ANNOUNCEMENT_POLICY, ...opts.announcements },
      // A proxy announcing an unusable endpoint stays connected (it still gets configuration) without one.
      onInvalid: ({ streamId, nodeId, error }) =>
        registrations.warn(registryLog, { streamId, node: nodeId, error }, 'endpoint registration rejected'),
    });
    let self: ControlPlane | undefined;
    const cache = new SnapshotCache({
      groupOf: nodeGroupOf,
      onFirstWatch: (group) => self?.publish(group),
      onLastUnwatch: (group) => self?.forget(group),
    });
    const telemetry = new ControlPlaneTelemetry(opts.tracing);
    const ca = await MeshCa.open({
      trustDomain: opts.identity?.trustDomain ?? DEFAULT_TRUST_DOMAIN,
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
      ...(opts.identity?.pluginDir === undefined ? {} : { pluginDir: opts.identity.pluginDir }),
      ...(opts.identity?.workloadTtlMs === undefined ? {} : { defaultTtlMs: opts.identity.workloadTtlMs }),
      ...(opts.identity?.minWorkloadTtlMs === undefined ? {} : { minTtlMs: opts.identity.minWorkloadTtlMs }),
    });
    const serving = await ServingCertificate.start(ca, logger.child({ component: 'ca' }));
    const tokens = JoinTokens.open(opts.dataDir);
    const signing = certificateService({
      ca,
      tokens,
      logger: logger.child({ component: 'ca' }),
      onResult: (result, how) => telemetry.metrics.certificateRequest(result, how),
    });
    const xds = new XdsServer({
      services: [
        {
          definition: certificateServiceDefinition,
          implementation: signing as unknown as UntypedServiceImplementation,
        },
      ],
      cache,
      logger: logger.child({ component: 'xds' }),
      authorize: serviceBinding(ca.trustDomain),
      observer: telemetry.xds,
      ...(opts.admission ? { admission: opts.admission } : {}),
      ...(opts.inFlight ? { inFlight: opts.inFlight } : {}),
    });
    telemetry.metrics.countProxiesFrom(() => xds.list().map((p) => clientKindOf(p.node)));
    telemetry.metrics.xdsLoadFrom(() => xds.load());
    const cleanups: (() => void)[] = [() => registrations.close(), () => serving.close()];
    registry.setStatic(store.list('Service') as ServiceResource[]);
    // What proxies announced before a restart lingers until they announce again (or the grace period ends).
    if (opts.dataDir !== undefined) {
      const saved = loadEndpoints(opts.dataDir);
      if ('error' in saved) logger.warn({ err: saved.error }, 'saved endpoints not restored');
      else if (saved.endpoints.length > 0) {
        registry.restore(saved.endpoints);
        logger.info({ endpoints: saved.endpoints.length }, 'endpoints of the last run restored until they reconnect');
      }
    }
    // Client certificates are asked for, not required at the handshake: a first certificate request comes with a
    // join token only. ADS streams without a verified certificate are refused (xds/stream-peer.ts).
    const credentials = experimental.createCertificateProviderServerCredentials(
      serving.provider,
      serving.provider,
      false,
    );
    let xdsPort: number;
    let xdsInsecurePort: number | undefined;
    let api: { port: number; close(): Promise<void> } | undefined;
    let metrics: MetricsServer | undefined;
    try {
      xdsPort = await xds.listen(opts.xdsHost, opts.xdsPort, { kind: 'mtls', credentials });
      if (opts.xdsInsecurePort !== undefined) {
        xdsInsecurePort = await xds.listen(opts.xdsHost, opts.xdsInsecurePort, { kind: 'plaintext' });
        logger.warn(
          { port: xdsInsecurePort, announcements: opts.announcements?.allowPlaintext === true },
          'plaintext xDS port open: anyone who reaches it reads the mesh configuration',
        );
      }
      api = await startApiServer({
        store,
        proxies: xds,
        snapshots: { snapshotFor: (node) => cache.getSnapshot(cache.groupOf(node)) },
        observer: telemetry.api,
        logger: logger.child({ component: 'api' }),
        host: opts.apiHost,
        port: opts.apiPort,
        identity: { trust: { trustDomain: ca.trustDomain, caSha256: ca.anchorSha256 }, tokens },
        ...(opts.apiAuth === undefined ? {} : { auth: opts.apiAuth }),
      });
      if (opts.metricsPort !== undefined) {
        metrics = await startMetricsServer({
          metrics: telemetry.metrics,
          host: opts.metricsHost ?? '127.0.0.1',
          port: opts.metricsPort,
          logger: logger.child({ component: 'metrics' }),
        });
      }
    } catch (err) {
      serving.close();
      await Promise.all([xds.close(0), api?.close()]);
      throw err;
    }
    const mtls = opts.identity?.mtls ?? 'permissive';
    const identity: MeshIdentity | undefined =
      mtls === 'off' ? undefined : { trustDomain: ca.trustDomain, trustBundle: ca.trustBundle.join('\n'), mode: mtls };
    self = new ControlPlane(
      opts,
      { cache, registry, xds, xdsPort, xdsInsecurePort, telemetry, metrics, identity },
      api,
      cleanups,
    );
    const cp = self;
    cleanups.push(registry.attach(xds));
    const followJwks = (): void =>
      cp.jwks.sync(jwksUris(store.list('RequestAuthentication') as RequestAuthenticationResource[]));
    followJwks();
    cleanups.push(
      store.watch(() => {
        telemetry.storeChanged();
        registry.setStatic(store.list('Service') as ServiceResource[]);
        followJwks();
        cp.debouncer.change('store');
      }),
    );
    cleanups.push(
      registry.onChange(() => {
        telemetry.registryChanged();
        cp.debouncer.change('registry');
      }),
    );
    if (opts.dataDir !== undefined) cleanups.push(cp.persistEndpoints(opts.dataDir));
    logger.info({ xdsPort, xdsInsecurePort, apiPort: api.port, metricsPort: metrics?.port }, 'control plane listening');
    return cp;
  }

  /**
   * One publish round for a debounced burst of changes: every watched group is translated again when operator
   * resources changed; when only endpoints did, only the ClusterLoadAssignments are recomputed (once, they do not
   * depend on the group) and swapped into each group's snapshot. Snapshots of groups nobody watches any more are
   * dropped (they would go stale; a proxy that comes back gets a fresh translation).
   */
  private publishRound(kinds: ReadonlySet<ChangeKind>): void {
    const watched = new Set(this.cache.groups());
    for (const group of [...this.published]) if (!watched.has(group)) this.forget(group);
    const full = kinds.has('store');
    // One version for the round: groups given the same content send the same Delta responses (shared encodings).
    const version = String(++this.version);
    this.telemetry.publishRound(() => {
      if (full) {
        for (const group of watched) this.publish(group, version);
        return;
      }
      this.publishEndpoints(watched, version);
    });
  }

  /** Publishes new load assignments to the groups whose snapshot holds others; a group without one is translated. */
  private publishEndpoints(groups: ReadonlySet<string>, version: string): void {
    const started = performance.now();
    let assignments: Record<string, unknown>[];
    try {
      assignments = loadAssignmentsOf(this.state());
    } catch (err) {
      this.opts.logger.error({ err }, 'endpoint translation failed; the last good snapshots keep serving');
      return;
    }
    let changed = 0;
    for (const group of groups) {
      const current = this.cache.getSnapshot(group);
      if (!current) {
        this.publish(group, version);
        continue;
      }
      if (sameLoadAssignments(current, assignments)) continue;
      try {
        this.cache.setSnapshot(group, withLoadAssignments(current, version, assignments));
        changed += 1;
      } catch (err) {
        this.opts.logger.error({ group, err }, 'endpoint publish failed; the last good snapshot keeps serving');
      }
    }
    this.opts.logger.debug({ groups: changed, ms: performance.now() - started }, 'load assignments published');
  }

  /** Drops what is kept for a group nobody watches any more; a proxy that comes back gets a fresh translation. */
  private forget(group: string): void {
    this.cache.clearSnapshot(group);
    this.published.delete(group);
    this.lastWarnings.delete(group);
  }

  /**
   * Keeps the announced endpoints in the data dir (written at most every ENDPOINT_SAVE_MS while they change, and at
   * stop), so the next start restores them; returns the function that stops it.
   */
  private persistEndpoints(dataDir: string): () => void {
    let timer: NodeJS.Timeout | undefined;
    const save = (): void => {
      timer = undefined;
      try {
        saveEndpoints(dataDir, this.registry.announced());
      } catch (err) {
        this.opts.logger.warn({ err }, 'saving the announced endpoints failed');
      }
    };
    const unsubscribe = this.registry.onChange(() => {
      timer ??= setTimeout(save, ENDPOINT_SAVE_MS);
    });
    this.saveEndpoints = save;
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }

  /** Publishes pending changes now instead of at the end of the debounce (tests, shutdown). */
  flush(): void {
    this.debouncer.flush();
  }

  /** Groups with a published snapshot (every one has a watcher: a group's last stream to close drops it). */
  publishedGroups(): string[] {
    return [...this.published];
  }

  private state(): MeshState {
    const { store } = this.opts;
    return {
      services: store.list('Service') as ServiceResource[],
      routes: store.list('Route') as RouteResource[],
      policies: store.list('TrafficPolicy') as TrafficPolicyResource[],
      telemetry: store.list('Telemetry') as TelemetryResource[],
      peerAuthentications: store.list('PeerAuthentication') as PeerAuthenticationResource[],
      authorizationPolicies: store.list('AuthorizationPolicy') as AuthorizationPolicyResource[],
      requestAuthentications: store.list('RequestAuthentication') as RequestAuthenticationResource[],
      jwks: this.jwks.snapshot(),
      gateways: store.list('Gateway') as GatewayResource[],
      endpoints: this.registry.endpoints(),
      ...(this.identity === undefined ? {} : { identity: this.identity }),
    };
  }

  /**
   * Translates the current state for one node group (a client kind, or a sidecar shape) and publishes it at the
   * round's version (or a version of its own); an inconsistent result keeps the last good one.
   */
  private publish(group: string, version = String(++this.version)): void {
    const parsed = parseNodeGroup(group);
    if (!parsed) return;
    const started = performance.now();
    try {
      const { resources, warnings } = translateWithWarnings(
        this.state(),
        parsed.client,
        parsed.sidecar,
        parsed.proxyless,
      );
      this.reportWarnings(group, warnings);
      const snapshot = Snapshot.fromObjects(version, resources);
      this.cache.setSnapshot(group, snapshot);
      this.published.add(group);
      this.opts.logger.debug(
        { group, version: snapshot.version, ms: performance.now() - started },
        'snapshot published',
      );
    } catch (err) {
      this.opts.logger.error({ group, err }, 'translation failed; the last good snapshot keeps serving');
    }
  }

  /** Logs what could not be translated as written, once per group until the set of warnings changes. */
  private reportWarnings(group: string, warnings: readonly string[]): void {
    const key = warnings.join('\n');
    if (this.lastWarnings.get(group) === key) return;
    this.lastWarnings.set(group, key);
    for (const warning of warnings) this.opts.logger.warn({ group, warning }, 'translation warning');
  }

  /** Stops accepting, lets streams and calls finish within graceMs, then closes the store. */
  async stop(graceMs = 2000): Promise<void> {
    for (const c of this.cleanups.splice(0)) c();
    await Promise.all([this.xds.close(graceMs), this.closeApi(), this.metricsServer?.close()]);
    // The proxies' streams have ended: their endpoints linger, and the next start picks them up from here.
    this.saveEndpoints?.();
    this.registry.close();
    await this.opts.store.close();
  }
}
