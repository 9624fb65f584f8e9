// The sidecar package's public API: the assembled Sidecar and the parts it is built from.
export { type AdminDeps, AdminServer, type ServerState } from './admin/admin-server.ts';
export { Stats } from './common/stats.ts';
export type { ConfigSource } from './config/config-source.ts';
export type { SidecarConfig } from './config/model.ts';
export type { ListenerStatus } from './listeners/active-listener.ts';
export type { ConnectionHandler, ConnectionHandlerFactory } from './listeners/connection-handler.ts';
export { type HandlerFactories, ListenerManager } from './listeners/listener-manager.ts';
export { buildProgram, main, nodeOf } from './main.ts';
export {
  defaultHandlerFactories,
  type HandlerDeps,
  Sidecar,
  type SidecarConfigSource,
  type SidecarOptions,
} from './sidecar.ts';
export { createTcpHandler } from './tcp/tcp-proxy.ts';
export type { Cluster, ClusterLookup } from './upstream/cluster.ts';
export { ClusterManager } from './upstream/cluster-manager.ts';
export type { Host } from './upstream/host/host.ts';
export { LbRegistry, setup as setupLbPolicies } from './upstream/lb/lb-registry.ts';
export type { LoadBalancer, LoadBalancerFactory, PickContext } from './upstream/lb/load-balancer.ts';
export { RoundRobinBalancer } from './upstream/lb/round-robin.ts';
export type { OutlierResult } from './upstream/outlier/outlier-detector.ts';
export { XdsClient, type XdsClientOptions } from './xds/xds-client.ts';
