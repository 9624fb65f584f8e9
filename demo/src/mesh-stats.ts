// The mesh as its sidecars report it: inbound requests per service (and their rate), ejections, ejected hosts, mTLS.
import type { Mesh } from './mesh.ts';
import { admin, ejectedHosts, promSamples, sum } from './scrape.ts';
import { SERVICES, type ServiceName } from './topology.ts';

export interface MeshStats {
  /** Requests (TCP: connections) that reached each service's sidecars on their inbound listener. */
  inbound: Record<ServiceName, number>;
  /** The same per second since the previous scrape. */
  inboundRate: Record<ServiceName, number>;
  /** Inbound HTTP answers with status 5xx, per service. */
  inbound5xx: Record<ServiceName, number>;
  /** Outlier ejections enforced by every sidecar so far. */
  ejections: number;
  /** Hosts ejected right now, by the instance behind them. */
  ejected: { instance: string; cluster: string }[];
  /** Inbound mTLS handshakes per service, and inbound connections that came in plaintext (all services). */
  tls: { handshakes: Record<ServiceName, number>; plaintext: number };
}

const zero = (): Record<ServiceName, number> =>
  Object.fromEntries(SERVICES.map((s) => [s, 0])) as unknown as Record<ServiceName, number>;

/** Scrapes every sidecar once; keeps the previous scrape for rates. */
export class MeshStatsReader {
  readonly #mesh: Mesh;
  #previous: { at: number; inbound: Record<ServiceName, number> } | undefined;
  #last: MeshStats = {
    inbound: zero(),
    inboundRate: zero(),
    inbound5xx: zero(),
    ejections: 0,
    ejected: [],
    tls: { handshakes: zero(), plaintext: 0 },
  };

  constructor(mesh: Mesh) {
    this.#mesh = mesh;
  }

  get last(): MeshStats {
    return this.#last;
  }

  async read(): Promise<MeshStats> {
    const at = performance.now();
    const inbound = zero();
    const inbound5xx = zero();
    let ejections = 0;
    const handshakes = zero();
    let plaintext = 0;
    const byPort = new Map(this.#mesh.instances.map((i) => [`127.0.0.1:${i.ports.inbound}`, i.instance.name]));
    const ejected = new Map<string, string>();
    const admins = [
      ...this.#mesh.instances.map((i) => ({
        service: i.instance.service as ServiceName | undefined,
        port: i.ports.admin,
      })),
      { service: undefined, port: this.#mesh.loadgen.adminPort },
    ];
    await Promise.all(
      admins.map(async ({ service, port }) => {
        const [prom, clusters] = await Promise.all([admin(port, '/stats/prometheus'), admin(port, '/clusters')]);
        const series = prom === undefined ? undefined : promSamples(prom);
        if (series !== undefined) {
          if (service !== undefined) {
            const inboundHttp = { envoy_http_conn_manager_prefix: 'inbound' };
            const http = sum(series, 'envoy_http_downstream_rq_xx', inboundHttp);
            const tcp = sum(series, 'envoy_tcp_downstream_cx_total', { envoy_tcp_prefix: 'inbound' });
            inbound[service] += http + tcp;
            inbound5xx[service] += sum(series, 'envoy_http_downstream_rq_xx', {
              ...inboundHttp,
              envoy_response_code_class: '5',
            });
            handshakes[service] += sum(series, 'envoy_listener_inbound_ssl_handshake');
            plaintext += sum(series, 'envoy_listener_inbound_plaintext_connections');
          }
          ejections += sum(series, 'envoy_cluster_outlier_detection_ejections_enforced_total');
        }
        for (const e of ejectedHosts(clusters ?? '')) {
          const name = byPort.get(e.host) ?? e.host;
          // A host sits in the service's cluster and in its subset's: name the subset.
          if (!ejected.has(name) || e.cluster.split('|').length > 2) ejected.set(name, e.cluster);
        }
      }),
    );
    const inboundRate = zero();
    if (this.#previous !== undefined) {
      const seconds = Math.max(0.001, (at - this.#previous.at) / 1000);
      for (const s of SERVICES) inboundRate[s] = Math.max(0, inbound[s] - this.#previous.inbound[s]) / seconds;
    }
    this.#previous = { at, inbound };
    this.#last = {
      inbound,
      inboundRate,
      inbound5xx,
      ejections,
      ejected: [...ejected].map(([instance, cluster]) => ({ instance, cluster })),
      tls: { handshakes, plaintext },
    };
    return this.#last;
  }
}
