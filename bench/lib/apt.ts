// Installs missing command-line tools from Debian packages (apt-get, as root on the project's machines).
import { execFileSync } from 'node:child_process';

/** Whether a command is on PATH (or an executable in /usr/sbin, where Debian puts daemons such as nginx). */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$0" || test -x "/usr/sbin/$0"`, command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the Debian package of each missing command (`{ wrk: 'wrk', nginx: 'nginx-light' }`); one apt-get update
 * first. Progress goes to stderr so that a caller's stdout stays its own.
 */
export function ensureCommands(packageOf: Record<string, string>): void {
  const missing = Object.keys(packageOf).filter((command) => !hasCommand(command));
  if (missing.length === 0) return;
  const packages = missing.map((command) => packageOf[command] as string);
  process.stderr.write(`installing ${packages.join(' ')} (apt-get)…\n`);
  const options = {
    stdio: ['ignore', process.stderr, process.stderr] as ['ignore', NodeJS.WriteStream, NodeJS.WriteStream],
  };
  execFileSync('apt-get', ['update'], options);
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    ...options,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const still = missing.filter((command) => !hasCommand(command));
  if (still.length > 0)
    throw new Error(`apt-get installed ${packages.join(' ')} but ${still.join(', ')} is still missing`);
}
