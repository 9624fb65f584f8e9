// What the translator produces and a snapshot holds: Envoy v3 resources as plain objects, grouped by xDS type.

/** Envoy v3 resources as plain objects (snake_case fields, '@type' on nested Any), grouped by xDS type. */
export interface TranslatedResources {
  cluster: Record<string, unknown>[];
  endpoint: Record<string, unknown>[];
  listener: Record<string, unknown>[];
  route: Record<string, unknown>[];
  secret: Record<string, unknown>[];
}
