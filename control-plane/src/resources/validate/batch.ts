// Validates a batch of documents applied together: each document, then duplicates of one kind/name in the batch.
import { keyOf, type Resource } from '../types.ts';
import { validateResource } from './validate.ts';

export interface BatchDocument {
  /** How errors name the document, e.g. "document 2". */
  where: string;
  value: unknown;
}

export interface BatchResult {
  /** The valid resources, in batch order (complete only when errors is empty). */
  resources: Resource[];
  errors: string[];
}

export function validateBatch(docs: readonly BatchDocument[]): BatchResult {
  const resources: Resource[] = [];
  const errors: string[] = [];
  const firstSeen = new Map<string, string>();
  for (const doc of docs) {
    const result = validateResource(doc.value, doc.where);
    errors.push(...result.errors);
    if (!result.resource) continue;
    const r = result.resource;
    const key = keyOf({ kind: r.kind, name: r.metadata.name });
    const first = firstSeen.get(key);
    if (first !== undefined) {
      errors.push(
        `${doc.where} (${r.kind} ${r.metadata.name}): metadata.name: duplicate ${r.kind} "${r.metadata.name}", already in ${first}; a batch may hold each kind/name once`,
      );
      continue;
    }
    firstSeen.set(key, doc.where);
    resources.push(r);
  }
  return { resources, errors };
}
