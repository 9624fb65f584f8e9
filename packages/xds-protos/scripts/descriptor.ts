// Writes packages/xds-protos/src/envoy-descriptor.json from the .proto files (`npm run protos:descriptor`); run it
// after changing root.ts's FILES or the @grpc/grpc-js-xds version (a test fails until then).
import { writeFileSync } from 'node:fs';
import { buildDescriptor, DESCRIPTOR_FILE } from '../src/root.ts';

writeFileSync(DESCRIPTOR_FILE, `${JSON.stringify(buildDescriptor())}\n`);
process.stdout.write(`wrote ${DESCRIPTOR_FILE}\n`);
