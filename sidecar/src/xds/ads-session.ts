// What the xDS client needs from one ADS stream's protocol logic (SotW or Delta), and what a response led to.
import type { ResourceType } from './resource-store.ts';

/** The outcome of one response: applied (ACKed) or rejected (NACKed, nothing changed). */
export interface ResponseOutcome {
  type: ResourceType;
  typeUrl: string;
  /** The response's version (SotW version_info, Delta system_version_info). */
  version: string;
  nonce: string;
  resources: number;
  result: { error: string } | { changed: boolean };
}

/** The RDS, EDS and SDS names the accepted listeners and clusters reference. */
export interface References {
  routes: ReadonlySet<string>;
  endpoints: ReadonlySet<string>;
  secrets: ReadonlySet<string>;
}

export interface AdsSession {
  /** Sends the stream's first requests (the node on the first one): wildcard CDS and LDS, then RDS/EDS/SDS by name. */
  start(refs: References): void;
  /** Applies a response to the store, then ACKs or NACKs it; undefined for a type the client never asked for. */
  onResponse(response: unknown): ResponseOutcome | undefined;
  /** Subscribes to newly referenced RDS/EDS/SDS names and unsubscribes from ones no longer referenced. */
  subscribe(refs: References): void;
}

/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK's error_detail. */
export const NACK_CODE = 3;

/** The type key of a type URL the client subscribes to, else undefined. */
export function resourceTypeOf(
  typeUrl: string,
  urls: Readonly<Record<ResourceType, string>>,
): ResourceType | undefined {
  for (const [type, url] of Object.entries(urls)) if (url === typeUrl) return type as ResourceType;
  return undefined;
}
