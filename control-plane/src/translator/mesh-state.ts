// The translator's input: every operator resource plus the endpoints known for each service.
import type { Endpoint } from '../registry/endpoint.ts';
import type { RouteResource, ServiceResource, TelemetryResource, TrafficPolicyResource } from '../resources/types.ts';

export interface MeshState {
  services: readonly ServiceResource[];
  routes: readonly RouteResource[];
  policies: readonly TrafficPolicyResource[];
  /** Telemetry resources (absent = none): tracing and access logs of sidecars. */
  telemetry?: readonly TelemetryResource[];
  /** Endpoints by service name (static entries and proxy-announced ones). */
  endpoints: ReadonlyMap<string, readonly Endpoint[]>;
}

/** Envoy v3 resources as plain objects (snake_case fields, '@type' on nested Any), grouped by xDS type. */
export interface TranslatedResources {
  cluster: Record<string, unknown>[];
  endpoint: Record<string, unknown>[];
  listener: Record<string, unknown>[];
  route: Record<string, unknown>[];
  secret: Record<string, unknown>[];
}
