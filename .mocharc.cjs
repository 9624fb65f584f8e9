// Mocha config: the whole suite by default; only the files named when a test file is given (`npx mocha a.test.ts`).
// grpc-js-xds runs the RBAC HTTP filter (gRFC A41) only with this set: the tests' XdsServers enforce
// AuthorizationPolicies as a user's must (docs/security.md).
process.env.GRPC_XDS_EXPERIMENTAL_RBAC ??= 'true';
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
  timeout: 20000,
  exit: true,
  reporter: './test/summary-reporter.cjs',
};
