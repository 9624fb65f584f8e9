// Endpoint-only publishing: recomputes the ClusterLoadAssignments (the translator's endpoints step) and swaps them
// into a group's last snapshot, keeping every other resource object as it was.
import { TYPE_URLS, XDS_TYPES } from '@trellis/xds-protos';
import { sealed } from '../cache/encoding-cache.ts';
import { Snapshot, sharedEncodings } from '../cache/snapshot.ts';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import { buildLoadAssignments } from '../translator/endpoints.ts';
import { indexMesh } from '../translator/mesh-index.ts';
import type { MeshState } from '../translator/mesh-state.ts';

/**
 * Every cluster's assignment for the mesh. Assignments depend on the operator resources and the endpoints only
 * (not on the client kind), so one computation serves every node group.
 */
export function loadAssignmentsOf(state: MeshState): Record<string, unknown>[] {
  // Sealed: every group's snapshot shares them, and each encodes once (found by identity after the first group).
  return buildLoadAssignments(indexMesh(state), state).map(sealed);
}

/** Whether the assignments are the ones the snapshot already holds (same names, same encoded content). */
export function sameLoadAssignments(snapshot: Snapshot, assignments: readonly Record<string, unknown>[]): boolean {
  const current = snapshot.resources('endpoint');
  if (current.size !== assignments.length) return false;
  for (const object of assignments) {
    const name = object['cluster_name'];
    const held = typeof name === 'string' ? current.get(name) : undefined;
    if (!held) return false;
    if (held.object !== object && held.version !== sharedEncodings.encode(TYPE_URLS.endpoint, object).version) {
      return false;
    }
  }
  return true;
}

/** The snapshot with its load assignments replaced; other resources keep their objects (and so their versions). */
export function withLoadAssignments(
  snapshot: Snapshot,
  version: string,
  assignments: Record<string, unknown>[],
): Snapshot {
  const objects = {} as TranslatedResources;
  for (const type of XDS_TYPES) objects[type] = [...snapshot.resources(type).values()].map((r) => r.object);
  objects.endpoint = assignments;
  return Snapshot.fromObjects(version, objects);
}
