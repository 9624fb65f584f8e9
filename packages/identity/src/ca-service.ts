// The certificate signing service on the wire: Istio's istio.v1.auth.IstioCertificateService/CreateCertificate
// (proto/istio/v1/auth/ca.proto), as a grpc-js service definition and client; messages encoded with protobufjs.
import { makeGenericClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export interface CertificateRequest {
  /** A PEM PKCS#10 certificate signing request. */
  csr: string;
  /** Requested lifetime in seconds; 0 = the CA's default. */
  validityDuration: number;
}

export interface CertificateResponse {
  /** PEM certificates: the workload's first, then its issuer's chain. */
  certChain: string[];
}

const root = protobuf.Root.fromJSON({
  nested: {
    istio: {
      nested: {
        v1: {
          nested: {
            auth: {
              nested: {
                IstioCertificateRequest: {
                  fields: {
                    csr: { type: 'string', id: 1 },
                    validity_duration: { type: 'int64', id: 3 },
                    // A google.protobuf.Struct of node metadata, kept undecoded (Trellis does not read it).
                    metadata: { type: 'bytes', id: 4 },
                  },
                },
                IstioCertificateResponse: { fields: { cert_chain: { rule: 'repeated', type: 'string', id: 1 } } },
              },
            },
          },
        },
      },
    },
  },
});
const Request = root.lookupType('istio.v1.auth.IstioCertificateRequest');
const Response = root.lookupType('istio.v1.auth.IstioCertificateResponse');

/** Bounds on what a request may carry (a CSR is a few hundred bytes; a chain a few KB). */
const MAX_CSR_CHARS = 16 * 1024;

function decodeRequest(bytes: Buffer): CertificateRequest {
  const m = Request.toObject(Request.decode(bytes), { longs: Number, defaults: true }) as {
    csr: string;
    validity_duration: number;
  };
  if (m.csr.length > MAX_CSR_CHARS) throw new Error(`csr is over ${MAX_CSR_CHARS} characters`);
  return { csr: m.csr, validityDuration: m.validity_duration };
}

function encodeRequest(m: CertificateRequest): Buffer {
  return Buffer.from(Request.encode({ csr: m.csr, validity_duration: m.validityDuration }).finish());
}

function decodeResponse(bytes: Buffer): CertificateResponse {
  const m = Response.toObject(Response.decode(bytes), { defaults: true }) as { cert_chain: string[] };
  return { certChain: m.cert_chain };
}

function encodeResponse(m: CertificateResponse): Buffer {
  return Buffer.from(Response.encode({ cert_chain: m.certChain }).finish());
}

export const CERTIFICATE_SERVICE = 'istio.v1.auth.IstioCertificateService';

export const certificateServiceDefinition: ServiceDefinition = {
  CreateCertificate: {
    path: `/${CERTIFICATE_SERVICE}/CreateCertificate`,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
};

/** A grpc-js client of the service: `new CertificateServiceClient(address, credentials).CreateCertificate(req, cb)`. */
export const CertificateServiceClient = makeGenericClientConstructor(certificateServiceDefinition, CERTIFICATE_SERVICE);
