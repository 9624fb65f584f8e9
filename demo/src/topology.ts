// The demo mesh: which app processes run, which service each one is, and what its sidecar needs.

/** The service ports declared in demo/config/mesh.yaml (what callers dial through their sidecar). */
export const SERVICE_PORTS = { web: 8080, orders: 8080, payments: 50051, inventory: 7000 } as const;
export type ServiceName = keyof typeof SERVICE_PORTS;
export const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];

/** One app process beside its own sidecar. */
export interface Instance {
  /** Process name, shown in the view and used as the sidecar's node id. */
  name: string;
  service: ServiceName;
  /** File under demo/src/apps/. */
  app: string;
  labels: Record<string, string>;
  /** App settings other than its own port and its sidecar's addresses. */
  env: Record<string, string>;
  /** Plain TCP services this app reaches through a local port of its sidecar. */
  tcpUpstreams: ServiceName[];
}

export const INSTANCES: readonly Instance[] = [
  { name: 'web', service: 'web', app: 'web.ts', labels: { version: 'v1' }, env: {}, tcpUpstreams: ['inventory'] },
  {
    name: 'orders-v1-a',
    service: 'orders',
    app: 'orders.ts',
    labels: { version: 'v1' },
    env: { VERSION: 'v1' },
    tcpUpstreams: [],
  },
  {
    name: 'orders-v1-b',
    service: 'orders',
    app: 'orders.ts',
    labels: { version: 'v1' },
    env: { VERSION: 'v1' },
    tcpUpstreams: [],
  },
  {
    name: 'orders-v2',
    service: 'orders',
    app: 'orders.ts',
    labels: { version: 'v2' },
    env: { VERSION: 'v2' },
    tcpUpstreams: [],
  },
  { name: 'payments', service: 'payments', app: 'payments.ts', labels: { version: 'v1' }, env: {}, tcpUpstreams: [] },
  {
    name: 'inventory',
    service: 'inventory',
    app: 'inventory.ts',
    labels: { version: 'v1' },
    env: {},
    tcpUpstreams: [],
  },
];

/** The instance the "kill a backend" key stops (one of two v1 replicas, so v1 keeps serving). */
export const KILLABLE = 'orders-v1-a';
