// The translator's input: every operator resource plus the endpoints known for each service.
import type { Endpoint } from '../registry/endpoint.ts';
import type {
  AuthorizationPolicyResource,
  GatewayResource,
  PeerAuthenticationResource,
  RequestAuthenticationResource,
  RouteResource,
  ServiceResource,
  TelemetryResource,
  TrafficPolicyResource,
} from '../resources/types.ts';
import type { MeshIdentity } from './mesh-tls.ts';

export interface MeshState {
  services: readonly ServiceResource[];
  routes: readonly RouteResource[];
  policies: readonly TrafficPolicyResource[];
  /** Telemetry resources (absent = none): tracing and access logs of sidecars. */
  telemetry?: readonly TelemetryResource[];
  /** Endpoints by service name (static entries and proxy-announced ones). */
  endpoints: ReadonlyMap<string, readonly Endpoint[]>;
  /** Mesh mTLS for sidecars holding a workload certificate (absent: no TLS anywhere). */
  identity?: MeshIdentity;
  /** PeerAuthentication resources: the mTLS mode per service or mesh-wide (absent = none). */
  peerAuthentications?: readonly PeerAuthenticationResource[];
  /** AuthorizationPolicy resources: RBAC at each service's inbound (absent = none). */
  authorizationPolicies?: readonly AuthorizationPolicyResource[];
  /** RequestAuthentication resources: JWT issuers per service (absent = none). */
  requestAuthentications?: readonly RequestAuthenticationResource[];
  /** The JWKS documents fetched for jwksUri (absent or missing: not fetched yet). */
  jwks?: ReadonlyMap<string, string>;
  /** Gateway resources: the listeners of edge gateways (absent = none). */
  gateways?: readonly GatewayResource[];
}
