// SPIFFE ids of mesh workloads, `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`: built, checked, parsed.

/** Who a workload is: its trust domain, namespace and service account. */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** SPIFFE trust domain characters (lower-case letters, digits, `.`, `-`, `_`), at most 255 of them. */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** A path segment: SPIFFE's letters, digits, `.`, `-`, `_` (not `.` or `..` alone), at most 253 characters. */
const SEGMENT = /^[A-Za-z0-9._-]{1,253}$/;

export function isTrustDomain(value: string): boolean {
  return TRUST_DOMAIN.test(value);
}

export function isPathSegment(value: string): boolean {
  return SEGMENT.test(value) && value !== '.' && value !== '..';
}

/** The identity's SPIFFE id; throws on a part SPIFFE does not allow (callers validate input first). */
export function spiffeId(id: WorkloadIdentity): string {
  if (!isTrustDomain(id.trustDomain)) throw new Error(`invalid trust domain ${JSON.stringify(id.trustDomain)}`);
  if (!isPathSegment(id.namespace)) throw new Error(`invalid namespace ${JSON.stringify(id.namespace)}`);
  if (!isPathSegment(id.serviceAccount))
    throw new Error(`invalid service account ${JSON.stringify(id.serviceAccount)}`);
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** A workload SPIFFE id (`/ns/<ns>/sa/<sa>` form) as its parts; undefined for anything else. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  const [, trustDomain, namespace, serviceAccount] = m as unknown as [string, string, string, string];
  if (!isTrustDomain(trustDomain) || !isPathSegment(namespace) || !isPathSegment(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}

/**
 * The identity a service's sidecars hold: namespace `default`, service account = the service (what join tokens give).
 * Peers expect it (mesh mTLS SAN checks) and the control plane lets only it claim the service.
 */
export function serviceSpiffeId(trustDomain: string, service: string): string {
  return spiffeId({ trustDomain, namespace: 'default', serviceAccount: service });
}
