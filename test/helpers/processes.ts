// Child processes for end-to-end tests: run the project's real bins, wait on their output, always stop them.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = {
  controlPlane: fileURLToPath(new URL('../../control-plane/bin/trellis-control-plane.js', import.meta.url)),
  trellisctl: fileURLToPath(new URL('../../control-plane/bin/trellisctl.js', import.meta.url)),
};

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a bin with node to completion (input on stdin), bounded by timeoutMs. */
export function run(bin: string, args: string[], input = '', timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

export interface Daemon {
  child: ChildProcess;
  /** Parsed JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line matching pred (bounded by timeoutMs). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends a signal and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a long-running bin whose stdout is JSON log lines (pino). */
export function startDaemon(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let buffered = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of waiters.splice(0)) {
        if (w.pred(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    waitForLog(pred, timeoutMs = 15_000) {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        const onExit = (code: number | null) =>
          reject(new Error(`process exited (${code}) before the log line; stderr: ${stderr}`));
        child.once('exit', onExit);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve(l);
          },
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface ControlPlaneProcess {
  daemon: Daemon;
  /** host:port of the operator API. */
  api: string;
  /** The xDS TLS port (sidecars with a join token). */
  xdsPort: number;
  /** The plaintext xDS port (--xds-insecure-port, announcements allowed): sidecars without a join token. */
  xdsInsecurePort: number;
  /** The control plane's metrics port (GET /metrics, /healthz). */
  metricsPort: number;
}

/** The control plane's flags for a test: dataDir, every port picked by the OS on loopback. */
export function controlPlaneArgs(dataDir: string): string[] {
  return [
    '--data-dir',
    dataDir,
    '--xds-host',
    '127.0.0.1',
    '--xds-port',
    '0',
    // Most tests run sidecars without identities: they use the plaintext port, and may announce endpoints there.
    '--xds-insecure-port',
    '0',
    '--xds-insecure-announce',
    '--api-port',
    '0',
    '--metrics-port',
    '0',
    // Changes are published 10 ms after they stop (100 ms by default): tests wait on events, this keeps them quick.
    '--debounce-quiet',
    '10ms',
  ];
}

/** Starts the real trellis-control-plane bin on dataDir with its ports picked by the OS, once it is listening. */
export async function startControlPlaneProcess(
  dataDir: string,
  extraArgs: string[] = [],
): Promise<ControlPlaneProcess> {
  const daemon = startDaemon(BIN.controlPlane, [...controlPlaneArgs(dataDir), ...extraArgs]);
  let line: Record<string, unknown>;
  try {
    line = await daemon.waitForLog((l) => l['msg'] === 'control plane listening');
  } catch (err) {
    // A control plane that never came up is not left running behind the failed test.
    daemon.child.kill('SIGKILL');
    throw err;
  }
  return {
    daemon,
    api: `127.0.0.1:${line['apiPort'] as number}`,
    xdsPort: line['xdsPort'] as number,
    xdsInsecurePort: line['xdsInsecurePort'] as number,
    metricsPort: line['metricsPort'] as number,
  };
}
