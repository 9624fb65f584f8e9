// Field paths through mapping keys users choose: `labels.version`, `labels["app.kubernetes.io/name"]`, long keys
// shortened so one huge key cannot make a huge message.
import { describe } from './issues.ts';

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export function keyPath(path: string, key: string): string {
  if (PLAIN_KEY.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${describe(key)}]`;
}
