// Memo of group-independent translated resources (clusters, route configurations), keyed by part and inputs' JSON.
import { sealed } from '../cache/encoding-cache.ts';
import type { MeshState } from './mesh-state.ts';

/** Most distinct inputs kept: a few recent mesh configurations per part and client kind. */
const MAX_MEMOS = 32;

interface Memo {
  resources: readonly Record<string, unknown>[];
  warnings: readonly string[];
}

const fingerprints = new WeakMap<MeshState, string>();
const memos = new Map<string, Memo>();

/** Whether the translator's caches are used (tests turn them off to compare with translation from scratch). */
export const translationCaching = { enabled: true };

/**
 * The exact text of what clusters and route configurations are built from: services, policies and routes (not
 * endpoints, not telemetry). Computed once per MeshState object. Another order of the same resources is only a miss.
 */
export function routeInputsOf(state: MeshState): string {
  let text = fingerprints.get(state);
  if (text === undefined) {
    text = JSON.stringify([state.services, state.policies, state.routes]);
    fingerprints.set(state, text);
  }
  return text;
}

/**
 * `build`'s resources for these inputs, built once while they stay among the MAX_MEMOS most recent: the resources
 * are sealed (shared by every group and round, and found by identity in the encoding cache), the warnings replayed.
 * Returns a new array each time.
 */
export function memoizedResources(
  part: string,
  state: MeshState,
  build: (warn: (m: string) => void) => Record<string, unknown>[],
  warn: (m: string) => void,
): Record<string, unknown>[] {
  if (!translationCaching.enabled) return build(warn);
  const key = `${part}\n${routeInputsOf(state)}`;
  let memo = memos.get(key);
  if (memo) {
    memos.delete(key);
    memos.set(key, memo);
  } else {
    const warnings: string[] = [];
    memo = { resources: build((m) => warnings.push(m)).map(sealed), warnings };
    memos.set(key, memo);
    for (const oldest of memos.keys()) {
      if (memos.size <= MAX_MEMOS) break;
      memos.delete(oldest);
    }
  }
  for (const m of memo.warnings) warn(m);
  return [...memo.resources];
}
