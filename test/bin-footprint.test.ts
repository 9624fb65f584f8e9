// What the bins load, started as users start them (no trellis-source condition, Node's type stripper off): compiled
// JavaScript only, and no OpenTelemetry SDK or OTLP exporter unless tracing has an endpoint (issue 16: memory).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BIN } from './helpers/processes.ts';
import { SIDECAR_BIN } from './helpers/sidecar.ts';

const PRELOAD = fileURLToPath(new URL('./helpers/module-log.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AGENT_BIN = path.join(ROOT, 'sidecar/bin/trellis-agent.js');

/** NODE_OPTIONS without the tests' trellis-source condition: a bin then resolves the packages to their dist/. */
const userNodeOptions = (): string =>
  (process.env.NODE_OPTIONS ?? '')
    .split(' ')
    .filter((o) => o !== '' && !o.startsWith('--conditions'))
    .join(' ');

/** Starts a bin with the module logger, waits for `ready` in its logs, stops it, returns the modules it resolved. */
async function modulesOf(
  bin: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-modules-'));
  const log = path.join(dir, 'modules.log');
  const child = spawn(process.execPath, ['--no-strip-types', '--import', PRELOAD, bin, ...args], {
    env: {
      ...process.env,
      NODE_OPTIONS: userNodeOptions(),
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
      // 'close' comes after the last output: a bin that prints its answer and exits (--help) is ready first.
      child.once('close', (code) => reject(new Error(`${bin} exited ${code}: ${out.slice(-500)}`)));
    });
    return readFileSync(log, 'utf8').split('\n');
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const otel = (modules: string[]) =>
  modules.filter((m) => /@opentelemetry\/(sdk-trace|exporter-trace|resources)/.test(m));

/** Modules a process resolved that are TypeScript (which the type stripper would have had to load). */
const typescript = (modules: string[]) => modules.filter((m) => /\.m?ts$/.test(m));

describe('bin footprint: compiled JavaScript, optional parts unloaded', function () {
  this.timeout(60_000);

  // The bins run dist/: bring it up to date with the sources, as `npm test` (and `npm ci`'s prepare) do.
  before(() => {
    execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-b'], { cwd: ROOT, stdio: 'pipe' });
  });

  it('every bin runs from dist/ with the type stripper off, loading no TypeScript', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trellis-js-only-'));
    try {
      const runs = [
        await modulesOf(
          SIDECAR_BIN,
          ['--xds', '127.0.0.1:1', '--service', 'x', '--admin-port', '0'],
          /admin listening/,
        ),
        await modulesOf(
          BIN.controlPlane,
          ['--data-dir', dir, '--xds-port', '0', '--api-port', '0', '--metrics-port', '0'],
          /control plane listening/,
        ),
        await modulesOf(BIN.trellisctl, ['--help'], /Usage: trellisctl/),
        await modulesOf(AGENT_BIN, ['--help'], /Usage: trellis-agent/),
      ];
      for (const [i, main] of [
        'sidecar/dist/main.js',
        'control-plane/dist/main.js',
        'control-plane/dist/cli/main.js',
        'sidecar/dist/agent/main.js',
      ].entries()) {
        expect(
          runs[i]?.some((m) => m.endsWith(main)),
          main,
        ).to.equal(true);
        expect(typescript(runs[i] ?? []), `TypeScript loaded by the bin of ${main}`).to.deep.equal([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sidecar without a tracing endpoint loads no OpenTelemetry SDK or exporter; with one it does', async () => {
    const args = ['--xds', '127.0.0.1:1', '--service', 'x', '--admin-port', '0'];
    const off = await modulesOf(SIDECAR_BIN, args, /admin listening/);
    expect(
      off.some((m) => m.includes('/sidecar/dist/main.js')),
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
