// Mocha config: the whole suite by default; only the files named when a test file is given (`npx mocha a.test.ts`).
// grpc-js-xds runs the RBAC HTTP filter (gRFC A41) only with this set: the tests' XdsServers enforce
// AuthorizationPolicies as a user's must (docs/security.md).
process.env.GRPC_XDS_EXPERIMENTAL_RBAC ??= 'true';
// The tests run the TypeScript sources: the trellis-source export condition (package.json "exports") picks src/ over
// the compiled dist/ the bins use, in mocha's process (node-option) and in every process a test starts (NODE_OPTIONS).
// test/bin-footprint.test.ts drops it to start the bins as users do.
const SOURCE = '--conditions=trellis-source';
if (!(process.env.NODE_OPTIONS ?? '').includes(SOURCE)) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, SOURCE].filter(Boolean).join(' ');
}
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /\.test\.ts$/.test(arg));
module.exports = {
  ...(named
    ? {}
    : {
        spec: [
          'packages/*/src/**/*.test.ts',
          'control-plane/src/**/*.test.ts',
          'sidecar/src/**/*.test.ts',
          'demo/src/**/*.test.ts',
          'test/**/*.test.ts',
        ],
      }),
  extension: ['ts'],
  'node-option': ['conditions=trellis-source'],
  timeout: 20000,
  exit: true,
  reporter: './test/summary-reporter.cjs',
};
