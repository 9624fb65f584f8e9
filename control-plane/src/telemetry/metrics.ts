// The control plane's Prometheus metrics (prom-client, own registry): proxies, xDS pushes/ACKs/NACKs, latency, API calls.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const CLIENT_KINDS = ['sidecar', 'proxyless', 'envoy'] as const;

/** Push latency: a store or registry change until the response is written (seconds). */
export const PUSH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Convergence: an accepted apply until every proxy that received it ACKed (seconds). */
export const CONVERGENCE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the xDS server holds back: unanswered response bytes and streams waiting for admission. */
export interface XdsLoad {
  inFlightBytes: number;
  admissionWaiting: number;
  /** Streams holding a configuration whose next push waits for the in-flight budget. */
  pushWaiting: number;
}

/** The families, registered on a private registry (no global state; several control planes per process work). */
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly pushes: Counter<'type_url'>;
  readonly pushLatency: Histogram<'type_url'>;
  readonly acks: Counter<'type_url'>;
  readonly nacks: Counter<'type_url'>;
  readonly convergence: Histogram<string>;
  readonly endpointConvergence: Histogram<string>;
  readonly apiRequests: Counter<'method' | 'code'>;
  readonly certificates: Counter<'result' | 'credential'>;
  #countProxies: () => Iterable<string> = () => [];
  #xdsLoad: () => XdsLoad = () => ({ inFlightBytes: 0, admissionWaiting: 0, pushWaiting: 0 });

  constructor() {
    const registers = [this.registry];
    const countProxies = () => this.#countProxies();
    new Gauge({
      name: 'trellis_cp_connected_proxies',
      help: 'xDS streams with a known node, by client kind (sidecar, proxyless, envoy)',
      labelNames: ['client_kind'],
      registers,
      collect() {
        const counts = new Map<string, number>(CLIENT_KINDS.map((k) => [k, 0]));
        for (const kind of countProxies()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
        for (const [kind, n] of counts) this.set({ client_kind: kind }, n);
      },
    });
    const xdsLoad = () => this.#xdsLoad();
    new Gauge({
      name: 'trellis_cp_xds_inflight_bytes',
      help: 'Bytes of xDS responses written and not yet ACKed or NACKed (new streams and pushes wait while over the budget)',
      registers,
      collect() {
        this.set(xdsLoad().inFlightBytes);
      },
    });
    new Gauge({
      name: 'trellis_cp_xds_admission_waiting',
      help: 'xDS streams connected and waiting for their first configuration (admission rate and in-flight budget)',
      registers,
      collect() {
        this.set(xdsLoad().admissionWaiting);
      },
    });
    new Gauge({
      name: 'trellis_cp_xds_push_waiting',
      help: 'xDS streams whose next push waits while the in-flight budget is spent (they get the newest state)',
      registers,
      collect() {
        this.set(xdsLoad().pushWaiting);
      },
    });
    this.pushes = new Counter({
      name: 'trellis_cp_xds_pushes_total',
      help: 'xDS responses written, by type URL',
      labelNames: ['type_url'],
      registers,
    });
    this.pushLatency = new Histogram({
      name: 'trellis_cp_xds_push_latency_seconds',
      help: 'From a store or registry change to the response carrying it written on a stream',
      labelNames: ['type_url'],
      buckets: PUSH_LATENCY_BUCKETS,
      registers,
    });
    this.acks = new Counter({
      name: 'trellis_cp_xds_acks_total',
      help: 'xDS responses ACKed by clients, by type URL',
      labelNames: ['type_url'],
      registers,
    });
    this.nacks = new Counter({
      name: 'trellis_cp_xds_nacks_total',
      help: 'xDS responses NACKed (rejected) by clients, by type URL',
      labelNames: ['type_url'],
      registers,
    });
    this.convergence = new Histogram({
      name: 'trellis_cp_convergence_seconds',
      help: 'From an accepted apply until every connected proxy that received the change ACKed it',
      buckets: CONVERGENCE_BUCKETS,
      registers,
    });
    this.endpointConvergence = new Histogram({
      name: 'trellis_cp_endpoint_convergence_seconds',
      help: 'From an endpoint joining or leaving (a proxy connected or left) until every proxy that received the change ACKed it',
      buckets: CONVERGENCE_BUCKETS,
      registers,
    });
    this.apiRequests = new Counter({
      name: 'trellis_cp_api_requests_total',
      help: 'Operator API calls, by method and gRPC status code name',
      labelNames: ['method', 'code'],
      registers,
    });
    this.certificates = new Counter({
      name: 'trellis_cp_certificate_requests_total',
      help: 'Workload certificate requests to the mesh CA, by result (issued, refused) and credential (token, renewal, none)',
      labelNames: ['result', 'credential'],
      registers,
    });
  }

  /** One answered certificate signing request. */
  certificateRequest(result: 'issued' | 'refused', credential: 'token' | 'renewal' | 'none'): void {
    this.certificates.inc({ result, credential });
  }

  /** Where the connected-proxies gauge reads the client kind of every connected proxy at scrape time. */
  countProxiesFrom(source: () => Iterable<string>): void {
    this.#countProxies = source;
  }

  /** Where the in-flight and admission gauges read the xDS server's load at scrape time. */
  xdsLoadFrom(source: () => XdsLoad): void {
    this.#xdsLoad = source;
  }

  /** The text exposition (Prometheus format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
