// RBAC evaluation (Envoy's semantics): policies compiled once into predicates; a policy matches when one of its
// permissions and one of its principals do; ALLOW lets through what some policy matches, DENY what none does, LOG
// everything (counting what matched). Shared by the HTTP filter and the network filter.
import { BlockList, isIPv4 } from 'node:net';
import type {
  CidrRange,
  MetadataMatch,
  MetadataValueMatch,
  RbacPermission,
  RbacPrincipal,
  RbacRules,
} from '../../config/model.ts';
import { compileHeaderMatches, headersMatch } from '../../http/message/header-match.ts';
import { compileStringMatcher } from '../../http/message/string-matcher.ts';

/** What RBAC reads of a request or connection. */
export interface RbacFacts {
  /** Every value of a request header joined with ',' (Envoy's RBAC header matching); undefined when absent. */
  header(name: string): string | undefined;
  /** The request path without its query ('' on a connection). */
  readonly path: string;
  /** The connection's peer address. */
  readonly directRemoteIp: string;
  /** The trusted client address (the peer, or from X-Forwarded-For per the connection manager's trusted hops). */
  readonly remoteIp: string;
  readonly localIp: string;
  readonly localPort: number;
  /** The peer's verified client certificate URI SAN (SPIFFE id); undefined without one. */
  readonly peerPrincipal: string | undefined;
  /** The TLS SNI the client sent, when any. */
  readonly serverName: string | undefined;
  /** A filter's metadata for this request (e.g. jwt_authn's verified payloads); undefined when it set none. */
  metadata(filter: string): unknown;
}

type Predicate = (facts: RbacFacts) => boolean;

/** `::ffff:10.0.0.1` → `10.0.0.1`: an IPv4 client on a dual-stack socket is matched as IPv4. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function cidrTest(range: CidrRange): (ip: string) => boolean {
  const list = new BlockList();
  const family = isIPv4(range.address) ? 'ipv4' : 'ipv6';
  list.addSubnet(range.address, range.prefixLen, family);
  return (ip) => {
    const plain = plainIp(ip);
    if (plain === '') return false;
    return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  };
}

function headerTest(header: Parameters<typeof compileHeaderMatches>[0][number]): Predicate {
  const compiled = compileHeaderMatches([header]);
  return (facts) => headersMatch(compiled, facts);
}

function compilePermission(p: RbacPermission): Predicate {
  switch (p.kind) {
    case 'any':
      return () => true;
    case 'and': {
      const all = p.rules.map(compilePermission);
      return (f) => all.every((t) => t(f));
    }
    case 'or': {
      const any = p.rules.map(compilePermission);
      return (f) => any.some((t) => t(f));
    }
    case 'not': {
      const inner = compilePermission(p.rule);
      return (f) => !inner(f);
    }
    case 'header':
      return headerTest(p.header);
    case 'path': {
      const test = compileStringMatcher(p.path);
      return (f) => test(f.path);
    }
    case 'destinationIp': {
      const test = cidrTest(p.cidr);
      return (f) => test(f.localIp);
    }
    case 'destinationPort':
      return (f) => f.localPort === p.port;
    case 'destinationPortRange':
      return (f) => f.localPort >= p.start && f.localPort < p.end;
    case 'serverName': {
      const test = compileStringMatcher(p.name);
      return (f) => test(f.serverName ?? '');
    }
  }
}

function compileValue(m: MetadataValueMatch): (value: unknown) => boolean {
  switch (m.kind) {
    case 'present':
      return (v) => v !== undefined && v !== null;
    case 'bool':
      return (v) => v === m.value;
    case 'string': {
      const test = compileStringMatcher(m.matcher);
      return (v) => typeof v === 'string' && test(v);
    }
    case 'list': {
      const inner = compileValue(m.oneOf);
      return (v) => Array.isArray(v) && v.some(inner);
    }
  }
}

function compileMetadata(m: MetadataMatch): Predicate {
  const test = compileValue(m.value);
  return (f) => {
    let value: unknown = f.metadata(m.filter);
    for (const key of m.path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        value = undefined;
        break;
      }
      value = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    }
    return test(value) !== m.invert;
  };
}

function compilePrincipal(p: RbacPrincipal): Predicate {
  switch (p.kind) {
    case 'any':
      return () => true;
    case 'and': {
      const all = p.ids.map(compilePrincipal);
      return (f) => all.every((t) => t(f));
    }
    case 'or': {
      const any = p.ids.map(compilePrincipal);
      return (f) => any.some((t) => t(f));
    }
    case 'not': {
      const inner = compilePrincipal(p.id);
      return (f) => !inner(f);
    }
    case 'authenticated': {
      if (p.name === undefined) return (f) => f.peerPrincipal !== undefined;
      const test = compileStringMatcher(p.name);
      return (f) => f.peerPrincipal !== undefined && test(f.peerPrincipal);
    }
    case 'directRemoteIp': {
      const test = cidrTest(p.cidr);
      return (f) => test(f.directRemoteIp);
    }
    case 'remoteIp': {
      const test = cidrTest(p.cidr);
      return (f) => test(f.remoteIp);
    }
    case 'header':
      return headerTest(p.header);
    case 'path': {
      const test = compileStringMatcher(p.path);
      return (f) => test(f.path);
    }
    case 'metadata':
      return compileMetadata(p.metadata);
  }
}

/** The outcome of one rules set: allowed or not, and the first policy (by name) that matched. */
export interface RbacDecision {
  allowed: boolean;
  /** The policy that matched (undefined: none did). */
  policy: string | undefined;
}

export class CompiledRbac {
  readonly action: RbacRules['action'];
  readonly #policies: { name: string; permission: Predicate; principal: Predicate }[];

  constructor(rules: RbacRules) {
    this.action = rules.action;
    this.#policies = rules.policies.map((p) => {
      const permissions = p.permissions.map(compilePermission);
      const principals = p.principals.map(compilePrincipal);
      return {
        name: p.name,
        permission: (f: RbacFacts) => permissions.some((t) => t(f)),
        principal: (f: RbacFacts) => principals.some((t) => t(f)),
      };
    });
  }

  /** The first matching policy's name, or undefined. */
  match(facts: RbacFacts): string | undefined {
    for (const p of this.#policies) if (p.permission(facts) && p.principal(facts)) return p.name;
    return undefined;
  }

  evaluate(facts: RbacFacts): RbacDecision {
    const policy = this.match(facts);
    const allowed =
      this.action === 'ALLOW' ? policy !== undefined : this.action === 'DENY' ? policy === undefined : true;
    return { allowed, policy };
  }
}
