// Loads the operator API protos (proto/trellis/admin/v1/admin.proto) for the server, the CLI and tests.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));
export const ADMIN_PROTO = 'trellis/admin/v1/admin.proto';
export const ADMIN_SERVICE = 'trellis.admin.v1.AdminService';

/** Field names stay snake_case as in the .proto; int64 as JS numbers; defaults filled in. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface AdminProto {
  packageDefinition: protoLoader.PackageDefinition;
  service: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
}

let cached: AdminProto | undefined;

export function loadAdminProto(): AdminProto {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(ADMIN_PROTO, LOADER_OPTIONS);
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  const trellis = grpcObject['trellis'] as grpc.GrpcObject;
  const admin = trellis['admin'] as grpc.GrpcObject;
  const v1 = admin['v1'] as grpc.GrpcObject;
  const Client = v1['AdminService'] as grpc.ServiceClientConstructor;
  cached = { packageDefinition, service: Client.service, Client };
  return cached;
}
