// Workload identity shared by the control plane and the sidecar.
export {
  CERTIFICATE_SERVICE,
  type CertificateRequest,
  type CertificateResponse,
  CertificateServiceClient,
  certificateServiceDefinition,
} from './ca-service.ts';
export {
  CONTROL_PLANE_NAMESPACE,
  CONTROL_PLANE_SERVICE_ACCOUNT,
  CONTROL_PLANE_TLS_NAME,
  controlPlaneSpiffeId,
  isControlPlaneIdentity,
} from './control-plane-identity.ts';
export {
  decodeJoinTokenPayload,
  JOIN_TOKEN_PREFIX,
  type JoinTokenHints,
  type JoinTokenPayload,
  joinTokenHints,
  MAX_JOIN_TOKEN_CHARS,
  splitJoinToken,
} from './join-token-format.ts';
export { MemoryCertificateProvider } from './memory-cert-provider.ts';
export {
  isPathSegment,
  isTrustDomain,
  parseSpiffeId,
  serviceSpiffeId,
  spiffeId,
  type WorkloadIdentity,
} from './spiffe.ts';
