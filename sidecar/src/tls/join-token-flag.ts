// The join token as a flag value (--join-token) or a file (--join-token-file): checked at start for the CA pin the
// sidecar needs to trust the control plane, with a message naming what is wrong.
import { readFileSync } from 'node:fs';
import { joinTokenHints } from '@trellis/identity';
import { InvalidArgumentError } from 'commander';

/** A join token must pin the control plane's CA: the sidecar trusts the control plane through that pin. */
export function joinTokenArg(value: string): string {
  const hints = joinTokenHints(value.trim());
  if ('error' in hints) throw new InvalidArgumentError(hints.error);
  return value.trim();
}

/** The token of --join-token-file, checked as --join-token is; throws naming the file. */
export function joinTokenFromFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`--join-token-file ${file}: ${(err as Error).message}`);
  }
  try {
    return joinTokenArg(text);
  } catch (err) {
    throw new Error(`--join-token-file ${file}: ${(err as Error).message}`);
  }
}
