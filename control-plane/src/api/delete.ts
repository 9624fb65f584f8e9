// Delete: removes one resource unless other resources still reference it (FAILED_PRECONDITION, naming them).
import { status } from '@grpc/grpc-js';
import { diffResources } from '../resources/diff.ts';
import { newReferenceErrors } from '../resources/references.ts';
import { keyOf } from '../resources/types.ts';
import type { Store } from '../store/store.ts';
import { ApiError, requireKind, requireName, retryOnConflict } from './errors.ts';
import type { DeleteRequestMessage, DeleteResponseMessage } from './messages.ts';

export async function deleteResource(store: Store, req: DeleteRequestMessage): Promise<DeleteResponseMessage> {
  const key = { kind: requireKind(req.kind), name: requireName(req.name) };
  return retryOnConflict(async () => {
    const revision = store.revision();
    const prev = store.get(key);
    if (!prev) throw new ApiError(status.NOT_FOUND, `${key.kind} "${key.name}" not found`);
    const current = store.list();
    const next = current.filter((r) => keyOf({ kind: r.kind, name: r.metadata.name }) !== keyOf(key));
    const refErrors = newReferenceErrors(current, next, [key]);
    if (refErrors.length > 0) {
      const lines = refErrors.map((e) => `  ${e}`).join('\n');
      throw new ApiError(
        status.FAILED_PRECONDITION,
        `cannot delete ${key.kind} ${key.name}, it is still referenced:\n${lines}`,
      );
    }
    const result = { kind: key.kind, name: key.name, action: 'deleted' as const, diff: '' };
    if (req.dry_run) return { result: { ...result, diff: diffResources(prev, undefined) }, revision };
    const committed = await store.commit({ put: [], delete: [key], ifRevision: revision });
    return { result, revision: committed };
  });
}
