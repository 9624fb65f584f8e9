// Workload identity shared by the control plane and the sidecar.
export {
  CERTIFICATE_SERVICE,
  type CertificateRequest,
  type CertificateResponse,
  CertificateServiceClient,
  certificateServiceDefinition,
} from './ca-service.ts';
export { isPathSegment, isTrustDomain, parseSpiffeId, spiffeId, type WorkloadIdentity } from './spiffe.ts';
