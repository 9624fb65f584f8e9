// Runs the real trellisctl bin against the demo's control plane (the same command the demo tells users to type).
import { execFile } from 'node:child_process';
import { BINS } from './paths.ts';

/** `trellisctl --api <api> ...args`; resolves with stdout, rejects with its error lines. */
export function trellisctl(api: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BINS.trellisctl, '--api', api, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`trellisctl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}
