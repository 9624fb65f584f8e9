// Builds a NodeInfo from a decoded envoy.config.core.v3.Node (protobufjs toObject shape, snake_case).
import type { NodeInfo } from '@trellis/node-contract';
import { structToJson } from '../common/struct-json.ts';

type Obj = Record<string, unknown>;

function asObj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** "major.minor.patch" from a user_agent_build_version (BuildVersion), or '' when absent. */
function buildVersion(v: unknown): string {
  const semver = asObj(asObj(v)?.['version']);
  if (!semver) return '';
  return [semver['major_number'], semver['minor_number'], semver['patch']].map((n) => Number(n ?? 0)).join('.');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The node as Trellis uses it; metadata becomes plain JSON. Missing fields are empty. Deeply frozen: the proxy table
 * hands the one copy to every reader instead of cloning it.
 */
export function decodeNode(raw: Obj): NodeInfo {
  const locality = asObj(raw['locality']) ?? {};
  const features = raw['client_features'];
  return deepFreeze({
    id: str(raw['id']),
    cluster: str(raw['cluster']),
    metadata: structToJson(raw['metadata']),
    locality: { region: str(locality['region']), zone: str(locality['zone']), sub_zone: str(locality['sub_zone']) },
    userAgentName: str(raw['user_agent_name']),
    userAgentVersion: str(raw['user_agent_version']) || buildVersion(raw['user_agent_build_version']),
    clientFeatures: Array.isArray(features) ? features.filter((f): f is string => typeof f === 'string') : [],
  });
}
