// Mocha config: the whole suite by default; only the files named when a test file is given (`npx mocha a.test.ts`).
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
