// An immutable, versioned set of xDS resources for one node group, with a consistency check.
import { TYPE_URLS, XDS_TYPES, type XdsTypeKey } from '@trellis/xds-protos';
import { consistencyErrors } from './consistency.ts';
import { EncodingCache } from './encoding-cache.ts';
import { versionOfResources } from './hash.ts';
import type { TranslatedResources } from './translated-resources.ts';

/** The encodings every snapshot shares (bounded): equal content across groups and rounds encodes once. */
export const sharedEncodings = new EncodingCache();

/** One resource ready to send: its name, content version, the encoded Any value, and the object it came from. */
export interface XdsResource {
  name: string;
  version: string;
  typeUrl: string;
  value: Uint8Array;
  object: Record<string, unknown>;
}

export type ResourcesByType = Readonly<Record<XdsTypeKey, ReadonlyMap<string, XdsResource>>>;

/** The name xDS uses for a resource: `cluster_name` for ClusterLoadAssignment, `name` for the rest. */
export function resourceNameOf(type: XdsTypeKey, object: Record<string, unknown>): string {
  const name = type === 'endpoint' ? object['cluster_name'] : object['name'];
  return typeof name === 'string' ? name : '';
}

/** Encodes one object; its version is a short hash of the encoded bytes, so equal content gives equal versions. */
function toResource(
  type: XdsTypeKey,
  object: Record<string, unknown>,
  index: number,
  encodings: EncodingCache,
): XdsResource {
  const name = resourceNameOf(type, object);
  if (!name) {
    throw new Error(`${type}[${index}]: missing ${type === 'endpoint' ? 'cluster_name' : 'name'}`);
  }
  const typeUrl = TYPE_URLS[type];
  const { value, version } = encodings.encode(typeUrl, object);
  return { name, version, typeUrl, value, object };
}

const EMPTY: ReadonlyMap<string, XdsResource> = new Map();

export class Snapshot {
  /** The version the producer gave this snapshot (Delta's system_version_info). */
  readonly version: string;
  readonly #byType: ResourcesByType;
  readonly #typeVersions: Readonly<Record<XdsTypeKey, string>>;

  private constructor(version: string, byType: ResourcesByType) {
    this.version = version;
    this.#byType = byType;
    const versions = {} as Record<XdsTypeKey, string>;
    for (const type of XDS_TYPES) versions[type] = versionOfResources(byType[type]);
    this.#typeVersions = versions;
  }

  /**
   * Encodes every object (throws naming the type, index and field when one does not fit its proto,
   * or when two resources of a type share a name). Encodings come from `encodings` (by default the shared cache).
   */
  static fromObjects(
    version: string,
    objects: Partial<TranslatedResources>,
    encodings: EncodingCache = sharedEncodings,
  ): Snapshot {
    const byType = {} as Record<XdsTypeKey, ReadonlyMap<string, XdsResource>>;
    for (const type of XDS_TYPES) {
      const map = new Map<string, XdsResource>();
      for (const [i, object] of (objects[type] ?? []).entries()) {
        const resource = toResource(type, object, i, encodings);
        if (map.has(resource.name)) throw new Error(`${type}[${i}]: duplicate name "${resource.name}"`);
        map.set(resource.name, resource);
      }
      byType[type] = map;
    }
    return new Snapshot(version, byType);
  }

  /** The resources of one type, by name. */
  resources(type: XdsTypeKey): ReadonlyMap<string, XdsResource> {
    return this.#byType[type] ?? EMPTY;
  }

  /** A hash over the type's (name, version) pairs: unchanged types keep their version across snapshots. */
  typeVersion(type: XdsTypeKey): string {
    return this.#typeVersions[type];
  }

  /** True when every type has the same content as in `other`. */
  sameContentAs(other: Snapshot): boolean {
    return XDS_TYPES.every((type) => this.typeVersion(type) === other.typeVersion(type));
  }

  /** Reference errors (missing route configurations, endpoints or clusters); empty when consistent. */
  consistent(): string[] {
    return consistencyErrors((type) => this.resources(type));
  }
}
