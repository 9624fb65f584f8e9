// A provider's JSON Web Key Set for jose: inline (parsed once), or a file followed as it changes (WatchedFiles: a file
// that cannot be read or parsed keeps the last good keys). jose's key lookup is made on first use (jose loads lazily).
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { WatchedFiles } from '../../common/watched-files.ts';
import { loadJose } from './jose.ts';

export interface JwksSource {
  /** The key lookup jose verifies with; undefined while no key set could be read. */
  keys(): Promise<JWTVerifyGetKey | undefined>;
}

/** A JWKS document, checked as jose's createLocalJWKSet checks it: a JSON object whose `keys` is an array of objects. */
function parse(text: string): JSONWebKeySet {
  const value: unknown = JSON.parse(text);
  const keys = typeof value === 'object' && value !== null ? (value as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) {
    throw new Error('a JWKS must be a JSON object whose "keys" is an array of JSON Web Key objects');
  }
  return value as JSONWebKeySet;
}

const lookups = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

async function lookup(set: JSONWebKeySet): Promise<JWTVerifyGetKey> {
  let keys = lookups.get(set);
  if (keys === undefined) {
    keys = (await loadJose()).createLocalJWKSet(set);
    lookups.set(set, keys);
  }
  return keys;
}

export function inlineJwks(text: string): JwksSource {
  const set = parse(text);
  return { keys: () => lookup(set) };
}

export function fileJwks(file: string, onError: (err: Error) => void): JwksSource {
  const watched = new WatchedFiles([file], ([text]) => parse((text as Buffer).toString('utf8')), onError);
  return {
    keys: async () => {
      const set = watched.current();
      return set === undefined ? undefined : lookup(set);
    },
  };
}
