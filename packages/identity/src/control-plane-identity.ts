// The control plane's own identity: the SPIFFE id its xDS TLS certificate carries, which sidecars check, and which no
// join token may grant a workload.
import { spiffeId } from './spiffe.ts';

export const CONTROL_PLANE_NAMESPACE = 'trellis-system';
export const CONTROL_PLANE_SERVICE_ACCOUNT = 'control-plane';

/**
 * The TLS server name clients send the control plane (`grpc.ssl_target_name_override`): grpc-js would send the
 * address, and Node refuses an IP address as a server name. Certificates are checked by SPIFFE id, not by name.
 */
export const CONTROL_PLANE_TLS_NAME = 'control-plane.trellis-system';

/** `spiffe://<trust-domain>/ns/trellis-system/sa/control-plane`. */
export function controlPlaneSpiffeId(trustDomain: string): string {
  return spiffeId({ trustDomain, namespace: CONTROL_PLANE_NAMESPACE, serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT });
}

/** Whether namespace/service account is the control plane's (reserved: a workload may not hold it). */
export function isControlPlaneIdentity(namespace: string, serviceAccount: string): boolean {
  return namespace === CONTROL_PLANE_NAMESPACE && serviceAccount === CONTROL_PLANE_SERVICE_ACCOUNT;
}
