// Operator API credentials: bearer tokens with a role (admin, read-only), kept as SHA-256 hashes in a file the
// operator writes (`--api-tokens`). Every call then needs one: UNAUTHENTICATED without a valid token,
// PERMISSION_DENIED when a read-only token asks to change something.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import { ApiError } from './errors.ts';

export type ApiRole = 'admin' | 'read-only';

export interface ApiToken {
  name: string;
  role: ApiRole;
  /** Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`). */
  sha256: string;
}

/** What a read-only token may call; anything else needs an admin token. */
const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'Get',
  'List',
  'Watch',
  'ProxyStatus',
  'ConfigDump',
  'MeshStats',
]);
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class ApiAuth {
  readonly #tokens: readonly { name: string; role: ApiRole; hash: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.#tokens = tokens.map((t) => ({ name: t.name, role: t.role, hash: Buffer.from(t.sha256, 'hex') }));
  }

  /** Reads a tokens file (YAML or JSON: a list of { name, role, sha256 }); throws naming the entry and field. */
  static load(file: string): ApiAuth {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(doc) || doc.length === 0)
      throw new Error(`${file}: expected a non-empty list of { name, role, sha256 }`);
    const names = new Set<string>();
    const tokens = doc.map((entry: unknown, i): ApiToken => {
      const at = `${file}: [${i}]`;
      if (typeof entry !== 'object' || entry === null) throw new Error(`${at}: expected { name, role, sha256 }`);
      const { name, role, sha256, ...rest } = entry as Record<string, unknown>;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) throw new Error(`${at}.${extra}: unknown field, expected one of name|role|sha256`);
      if (typeof name !== 'string' || !NAME.test(name))
        throw new Error(`${at}.name: expected a DNS-1123 label, got ${JSON.stringify(name)}`);
      if (names.has(name)) throw new Error(`${at}.name: duplicate token name ${name}`);
      names.add(name);
      if (role !== 'admin' && role !== 'read-only')
        throw new Error(`${at}.role: expected admin|read-only, got ${JSON.stringify(role)}`);
      if (typeof sha256 !== 'string' || !HEX64.test(sha256))
        throw new Error(`${at}.sha256: expected the token's SHA-256 as 64 lower-case hex digits`);
      return { name, role, sha256 };
    });
    return new ApiAuth(tokens);
  }

  /** Why `method` is refused for this call's credentials; undefined when it may go on. */
  check(metadata: grpc.Metadata, method: string): ApiError | undefined {
    const header = metadata.get('authorization')[0];
    const token = typeof header === 'string' ? /^Bearer (.+)$/.exec(header)?.[1] : undefined;
    if (token === undefined)
      return new ApiError(grpc.status.UNAUTHENTICATED, 'this API needs a token: pass --token or set TRELLIS_TOKEN');
    const hash = createHash('sha256').update(token).digest();
    const found = this.#tokens.find((t) => timingSafeEqual(t.hash, hash));
    if (found === undefined) return new ApiError(grpc.status.UNAUTHENTICATED, 'the token is not valid for this API');
    if (found.role === 'read-only' && !READ_ONLY_METHODS.has(method))
      return new ApiError(grpc.status.PERMISSION_DENIED, `token ${found.name} is read-only: it cannot call ${method}`);
    return undefined;
  }
}
