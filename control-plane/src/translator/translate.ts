// The translator: operator resources plus endpoints in, Envoy v3 resources for one kind of client out. Pure.
import type { ClientKind } from '../xds/node.ts';
import { buildClusters } from './clusters.ts';
import { buildLoadAssignments } from './endpoints.ts';
import { buildListeners } from './listeners.ts';
import { indexMesh } from './mesh-index.ts';
import type { MeshState, TranslatedResources } from './mesh-state.ts';
import { buildRouteConfigurations } from './routes.ts';

/** Resources plus what could not be translated as written (unknown destinations, matches a client cannot express). */
export interface Translation {
  resources: TranslatedResources;
  warnings: string[];
}

/** Translates and reports problems; output is deterministic (every list sorted by resource name). */
export function translateWithWarnings(state: MeshState, client: ClientKind): Translation {
  const warnings = new Set<string>();
  const warn = (m: string): void => {
    warnings.add(m);
  };
  const index = indexMesh(state);
  const resources: TranslatedResources = {
    cluster: buildClusters(index, client),
    endpoint: buildLoadAssignments(index, state),
    listener: buildListeners(index, state, client),
    route: buildRouteConfigurations(index, state, client, warn),
    secret: [],
  };
  return { resources, warnings: [...warnings] };
}

/** Envoy v3 resources for one client kind: clusters, load assignments, listeners and route configurations. */
export function translate(state: MeshState, client: ClientKind): TranslatedResources {
  return translateWithWarnings(state, client).resources;
}
