// Apply: validate every document and the cross references against (stored state + batch), then commit all or nothing.
import { status } from '@grpc/grpc-js';
import { sameContent } from '../resources/canonical.ts';
import { diffResources } from '../resources/diff.ts';
import { newReferenceErrors } from '../resources/references.ts';
import { keyOf, type Resource } from '../resources/types.ts';
import { validateBatch } from '../resources/validate/batch.ts';
import type { Store } from '../store/store.ts';
import { ApiError, errorList, retryOnConflict } from './errors.ts';
import {
  type ApplyResponseMessage,
  type ApplyResultMessage,
  messageToDocument,
  type ResourceMessage,
} from './messages.ts';

/** Documents are named "document N" (1-based, in request order) in error messages. */
export async function applyResources(
  store: Store,
  messages: readonly ResourceMessage[],
  dryRun: boolean,
): Promise<ApplyResponseMessage> {
  const batch = validateBatch(messages.map((m, i) => ({ where: `document ${i + 1}`, value: messageToDocument(m) })));
  if (batch.errors.length > 0) throw new ApiError(status.INVALID_ARGUMENT, errorList(batch.errors));
  const resources = batch.resources;

  return retryOnConflict(async () => {
    const revision = store.revision();
    const current = store.list();
    const incoming = new Map(resources.map((r) => [keyOf({ kind: r.kind, name: r.metadata.name }), r]));
    const next = [
      ...current.filter((r) => !incoming.has(keyOf({ kind: r.kind, name: r.metadata.name }))),
      ...resources,
    ];
    const refErrors = newReferenceErrors(current, next);
    if (refErrors.length > 0) throw new ApiError(status.INVALID_ARGUMENT, errorList(refErrors));

    const results: ApplyResultMessage[] = [];
    const changed: Resource[] = [];
    for (const r of resources) {
      const prev = store.get({ kind: r.kind, name: r.metadata.name });
      const action = !prev ? 'created' : sameContent(prev, r) ? 'unchanged' : 'configured';
      if (action !== 'unchanged') changed.push(r);
      results.push({ kind: r.kind, name: r.metadata.name, action, diff: dryRun ? diffResources(prev, r) : '' });
    }
    if (dryRun || changed.length === 0) return { results, revision };
    const committed = await store.commit({ put: changed, delete: [], ifRevision: revision });
    return { results, revision: committed };
  });
}
