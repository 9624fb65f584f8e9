// An immutable, versioned set of xDS resources for one node group, with a consistency check.
import type { XdsTypeKey } from '@trellis/xds-protos';

/** One resource ready to send: its name, content version, the encoded Any value, and the object it came from. */
export interface XdsResource {
  name: string;
  version: string;
  typeUrl: string;
  value: Uint8Array;
  object: Record<string, unknown>;
}

export type ResourcesByType = Readonly<Record<XdsTypeKey, ReadonlyMap<string, XdsResource>>>;
