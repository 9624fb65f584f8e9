// The sidecar's xDS client: one ADS stream (Delta or SotW) to a control plane, failover across servers with
// backoff, whole-response validation (ACK or NACK), and immutable SidecarConfig snapshots for the data path.
import { type ChannelCredentials, type Client, status as grpcStatus, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ConfigSource } from '../config/config-source.ts';
import { EMPTY_CONFIG, type SidecarConfig } from '../config/model.ts';
import { type AdsCall, adsChannel, type NodeOptions, nodeMessage, openAdsCall } from './ads-call.ts';
import type { AdsSession } from './ads-session.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { DeltaSession } from './delta-session.ts';
import { type ResourceExport, ResourceStore } from './resource-store.ts';
import { SotwSession } from './sotw-session.ts';

export type { NodeOptions } from './ads-call.ts';

export interface XdsClientOptions {
  /** Control plane addresses ('host:port'), tried in turn. */
  servers: string[];
  node: NodeOptions;
  protocol: 'delta' | 'sotw';
  logger: Logger;
  /** mTLS with the workload certificate (control-plane-trust.ts); default plaintext. */
  credentials?: ChannelCredentials;
  backoff?: BackoffOptions;
  /**
   * How long a config may stay incomplete (a listener's route configuration or a cluster's endpoints not yet
   * received) before what is there is applied anyway, as Envoy's initial_fetch_timeout does. Default 15 s.
   */
  warmingTimeoutMs?: number;
}

export interface XdsClientStatus {
  connected: boolean;
  /** The server the client is connected (or connecting) to. */
  server: string;
  /** The last rejected response: '<type URL>: <error>'. */
  lastNack?: string;
}

const DEFAULT_WARMING_TIMEOUT_MS = 15_000;

export class XdsClient implements ConfigSource {
  readonly #opts: XdsClientOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #store = new ResourceStore();
  readonly #listeners = new Set<(config: SidecarConfig) => void>();
  readonly #channels = new Map<string, Client>();
  readonly #ready: Promise<void>;
  #resolveReady: (() => void) | undefined;
  #current: SidecarConfig = EMPTY_CONFIG;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #serverIndex = 0;
  #call: AdsCall<unknown> | undefined;
  #session: AdsSession | undefined;
  #connected = false;
  #lastNack: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #warmingTimer: NodeJS.Timeout | undefined;

  constructor(opts: XdsClientOptions) {
    if (opts.servers.length === 0) throw new Error('xDS client: at least one server address is required');
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'xds', protocol: opts.protocol });
    this.#backoff = new Backoff(opts.backoff);
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** Connects to the first server; from then on reconnects (and fails over) until stop(). */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#connect();
  }

  /** Ends the stream and closes every channel; the last config stays readable. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#warmingTimer);
    const call = this.#call;
    this.#call = undefined;
    this.#session = undefined;
    this.#connected = false;
    call?.cancel();
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
  }

  current(): SidecarConfig {
    return this.#current;
  }

  onChange(listener: (config: SidecarConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Resolves once a first complete config (listeners plus the routes, clusters and endpoints they use) applies. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Everything received, per type, for the admin /config_dump. */
  dump(): unknown {
    return { ...this.status(), protocol: this.#opts.protocol, types: this.#store.dump() };
  }

  /** The resources the current config was built from, as bytes (what worker threads rebuild it from). */
  exportResources(): ResourceExport {
    return this.#store.exportAll();
  }

  status(): XdsClientStatus {
    const s: XdsClientStatus = { connected: this.#connected, server: this.#server() };
    if (this.#lastNack !== undefined) s.lastNack = this.#lastNack;
    return s;
  }

  #server(): string {
    return this.#opts.servers[this.#serverIndex] as string;
  }

  #channel(server: string): Client {
    let channel = this.#channels.get(server);
    if (!channel) {
      channel = adsChannel(server, this.#opts.credentials);
      this.#channels.set(server, channel);
    }
    return channel;
  }

  #connect(): void {
    if (this.#state !== 'running') return;
    const server = this.#server();
    const call = openAdsCall(this.#channel(server), this.#opts.protocol) as AdsCall<unknown>;
    const write = (request: Record<string, unknown>): void => {
      if (this.#call === call) call.write(request);
    };
    const node = nodeMessage(this.#opts.node);
    const session =
      this.#opts.protocol === 'delta'
        ? new DeltaSession(write, this.#store, node)
        : new SotwSession(write, this.#store, node);
    this.#call = call;
    this.#session = session;
    call.on('data', (response: unknown) => this.#onResponse(call, response));
    call.on('error', () => {}); // the status event carries the outcome
    call.on('status', (s: StatusObject) => this.#onStreamEnd(call, s));
    this.#log.debug({ server }, 'opening ADS stream');
    session.start(this.#store.references());
  }

  #onResponse(call: AdsCall<unknown>, response: unknown): void {
    const session = this.#session;
    if (call !== this.#call || !session) return;
    if (!this.#connected) {
      this.#connected = true;
      this.#backoff.reset();
      this.#log.info({ server: this.#server() }, 'connected to the xDS server');
    }
    const outcome = session.onResponse(response);
    if (!outcome) return;
    const { typeUrl, version, nonce, resources, result } = outcome;
    if ('error' in result) {
      this.#lastNack = `${typeUrl}: ${result.error}`;
      this.#log.warn(
        { typeUrl, version, nonce, error: result.error },
        'NACK: rejected the xDS response; the last good config keeps serving',
      );
      return;
    }
    this.#log.info({ typeUrl, version, nonce, resources, changed: result.changed }, 'ACK');
    this.#afterApply(session);
  }

  /** Follows references (subscribe/unsubscribe, forget unused), then publishes when the config is complete. */
  #afterApply(session: AdsSession): void {
    const refs = this.#store.references();
    session.subscribe(refs);
    this.#store.retain('route', refs.routes);
    this.#store.retain('endpoint', refs.endpoints);
    this.#store.retain('secret', refs.secrets);
    const missing = this.#store.missing();
    if (missing.length === 0) {
      clearTimeout(this.#warmingTimer);
      this.#warmingTimer = undefined;
      this.#publish();
      this.#resolveReady?.();
      this.#resolveReady = undefined;
      return;
    }
    this.#log.debug({ missing }, 'config incomplete: waiting for the resources it references');
    if (this.#warmingTimer) return;
    this.#warmingTimer = setTimeout(() => {
      this.#warmingTimer = undefined;
      const still = this.#store.missing();
      if (still.length === 0 || this.#state !== 'running') return;
      this.#log.warn({ missing: still }, 'config still incomplete after the warming timeout; applying what there is');
      this.#publish();
    }, this.#opts.warmingTimeoutMs ?? DEFAULT_WARMING_TIMEOUT_MS);
  }

  #publish(): void {
    const config = this.#store.build();
    if (config === this.#current) return;
    this.#current = config;
    for (const listener of [...this.#listeners]) {
      try {
        listener(config);
      } catch (err) {
        this.#log.error({ err }, 'config listener failed');
      }
    }
  }

  /** The stream ended: keep serving the last config and reconnect to the next server after a jittered backoff. */
  #onStreamEnd(call: AdsCall<unknown>, s: StatusObject): void {
    if (call !== this.#call) return;
    this.#call = undefined;
    this.#session = undefined;
    const wasConnected = this.#connected;
    this.#connected = false;
    if (this.#state !== 'running') return;
    const server = this.#server();
    // Refused for its certificate (one that expired while the control plane was away): the connection was made with
    // it, and every stream on it would be refused alike. A new connection shows the certificate in force now.
    if (s.code === grpcStatus.UNAUTHENTICATED) {
      this.#channels.get(server)?.close();
      this.#channels.delete(server);
    }
    this.#serverIndex = (this.#serverIndex + 1) % this.#opts.servers.length;
    const delay = this.#backoff.next();
    // A sidecar without a join token speaks plaintext: against the control plane's TLS port it never connects.
    const hint =
      !wasConnected && this.#opts.credentials === undefined && s.code === grpcStatus.UNAVAILABLE
        ? {
            hint: "the control plane's xDS port is TLS: start with --join-token, or point --xds at its plaintext port (--xds-insecure-port)",
          }
        : {};
    this.#log.warn(
      { server, code: grpcStatus[s.code], details: s.details, retryInMs: delay, next: this.#server(), ...hint },
      wasConnected ? 'xDS stream ended; reconnecting' : 'xDS server unavailable; trying the next one',
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }
}
