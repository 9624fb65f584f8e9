// A provider's JSON Web Key Set for jose: inline (parsed once), or a file followed as it changes (WatchedFiles: a file
// that cannot be read or parsed keeps the last good keys).
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { WatchedFiles } from '../../common/watched-files.ts';

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
  const watched = new WatchedFiles([file], ([text]) => parse((text as Buffer).toString('utf8')), onError);
  return { keys: () => watched.current() };
}
