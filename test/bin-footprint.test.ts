// What the bins load when optional parts are off: the sidecar and the control plane start without the
// OpenTelemetry SDK or OTLP exporters unless tracing has an endpoint (issue 16: memory).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BIN } from './helpers/processes.ts';
import { SIDECAR_BIN } from './helpers/sidecar.ts';

const PRELOAD = fileURLToPath(new URL('./helpers/module-log.mjs', import.meta.url));

/** Starts a bin with the module logger, waits for `ready` in its logs, stops it, returns the modules it resolved. */
async function modulesOf(
  bin: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-modules-'));
  const log = path.join(dir, 'modules.log');
  const child = spawn(process.execPath, ['--import', PRELOAD, bin, ...args], {
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      ...env,
      TRELLIS_MODULE_LOG: log,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${bin} not ready: ${out.slice(-500)}`)), 30_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${bin} exited ${code}: ${out.slice(-500)}`)));
    });
    return readFileSync(log, 'utf8').split('\n');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const otel = (modules: string[]) =>
  modules.filter((m) => /@opentelemetry\/(sdk-trace|exporter-trace|resources)/.test(m));

describe('bin footprint: optional parts stay unloaded', function () {
  this.timeout(60_000);

  it('the sidecar without a tracing endpoint loads no OpenTelemetry SDK or exporter; with one it does', async () => {
    const args = ['--xds', '127.0.0.1:1', '--service', 'x', '--admin-port', '0'];
    const off = await modulesOf(SIDECAR_BIN, args, /admin listening/);
    expect(
      off.some((m) => m.includes('/sidecar/src/main.ts')),
      'the log works',
    ).to.equal(true);
    expect(otel(off)).to.deep.equal([]);
    const on = await modulesOf(SIDECAR_BIN, [...args, '--tracing-endpoint', 'http://127.0.0.1:1'], /admin listening/);
    expect(otel(on)).to.not.deep.equal([]);
  });

  it('the control plane without a tracing endpoint loads no OpenTelemetry SDK or exporter', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trellis-cp-modules-'));
    try {
      const off = await modulesOf(
        BIN.controlPlane,
        ['--data-dir', dir, '--xds-port', '0', '--api-port', '0', '--metrics-port', '0'],
        /control plane listening/,
      );
      expect(otel(off)).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
