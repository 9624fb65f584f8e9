// A provider's JSON Web Key Set for jose: inline (parsed once), or a file re-read when its modification time changes
// (checked at most once a second, on use); a file that cannot be read or parsed keeps the last good keys.
import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

const RECHECK_MS = 1000;

export interface JwksSource {
  /** The key lookup jose verifies with; undefined while no key set could be read. */
  keys(): JWTVerifyGetKey | undefined;
}

function parse(text: string): JWTVerifyGetKey {
  return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
}

export function inlineJwks(text: string): JwksSource {
  const keys = parse(text);
  return { keys: () => keys };
}

export function fileJwks(file: string, onError: (err: Error) => void): JwksSource {
  let keys: JWTVerifyGetKey | undefined;
  let mtime = -1;
  let checked = 0;
  return {
    keys() {
      const now = Date.now();
      if (now - checked < RECHECK_MS && (keys !== undefined || checked !== 0)) return keys;
      checked = now;
      try {
        const m = statSync(file).mtimeMs;
        if (m !== mtime) {
          keys = parse(readFileSync(file, 'utf8'));
          mtime = m;
        }
      } catch (err) {
        onError(err as Error);
      }
      return keys;
    },
  };
}
