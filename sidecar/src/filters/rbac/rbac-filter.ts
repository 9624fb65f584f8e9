// envoy.filters.http.rbac: authorizes each request by its caller (mTLS identity, addresses, headers) and what it
// asks for (method, path, host, port) before the router; a denied request gets 403 `RBAC: access denied` (gRPC:
// PERMISSION_DENIED) with no detail of the policy. Shadow rules only count. Stats: http.<prefix>.rbac.*.
import type { Stats } from '../../common/stats.ts';
import { type HttpFilterTypedConfig, RBAC_TYPE, type RbacConfig } from '../../config/model.ts';
import { Answer } from '../../http/filter/answer.ts';
import type { FilterEnv, FilterStream, HttpFilter, PreparedFilter } from '../../http/filter/filter.ts';
import { GrpcStatus } from '../../http/message/grpc.ts';
import type { LocalReply } from '../../http/message/reply.ts';
import { CompiledRbac, type RbacFacts } from './rbac-engine.ts';

/** Envoy's response flag for a request RBAC refused (access logs: %RESPONSE_FLAGS%). */
const RBAC_FLAG = 'RBAC';

/** RBAC's view of a request: header values joined with ',' (a repeated header cannot hide a value). */
class RequestFacts implements RbacFacts {
  readonly #stream: FilterStream;

  constructor(stream: FilterStream) {
    this.#stream = stream;
  }

  header(name: string): string | undefined {
    if (name.startsWith(':')) return pseudo(this.#stream, name);
    const headers = this.#stream.requestHeaders();
    let out: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] !== name) continue;
      const value = headers[i + 1] as string;
      out = out === undefined ? value : `${out},${value}`;
    }
    return out;
  }

  get path(): string {
    return this.#stream.path;
  }

  get directRemoteIp(): string {
    return this.#stream.connection.remoteAddress;
  }

  get remoteIp(): string {
    return this.#stream.clientAddress;
  }

  get localIp(): string {
    return this.#stream.connection.localAddress;
  }

  get localPort(): number {
    return this.#stream.connection.localPort;
  }

  get peerPrincipal(): string | undefined {
    return this.#stream.connection.peerPrincipal;
  }

  get serverName(): string | undefined {
    return this.#stream.connection.serverName;
  }

  metadata(filter: string): unknown {
    return this.#stream.state.get(filter);
  }
}

/** `:method`, `:path` (with its query, as Envoy matches it), `:authority`, `:scheme`. */
function pseudo(stream: FilterStream, name: string): string | undefined {
  switch (name) {
    case ':method':
      return stream.method;
    case ':path':
      return stream.path + stream.query;
    case ':authority':
      return stream.authority;
    default:
      return stream.header(name);
  }
}

class PreparedRbac implements PreparedFilter {
  readonly #enforced: CompiledRbac | undefined;
  readonly #shadow: CompiledRbac | undefined;
  readonly #stats: Stats;
  readonly #names: Readonly<
    Record<'allowed' | 'denied' | 'logged' | 'notLogged' | 'shadowAllowed' | 'shadowDenied', string>
  >;

  constructor(config: RbacConfig, env: FilterEnv) {
    this.#enforced = config.rules === undefined ? undefined : new CompiledRbac(config.rules);
    this.#shadow = config.shadowRules === undefined ? undefined : new CompiledRbac(config.shadowRules);
    this.#stats = env.stats;
    const base = `http.${env.statPrefix}.rbac.`;
    const rules = `${base}${config.rulesStatPrefix}`;
    const shadow = `${base}${config.shadowRulesStatPrefix}`;
    this.#names = {
      allowed: `${rules}allowed`,
      denied: `${rules}denied`,
      logged: `${rules}logged`,
      notLogged: `${rules}not_logged`,
      shadowAllowed: `${shadow}shadow_allowed`,
      shadowDenied: `${shadow}shadow_denied`,
    };
  }

  create(stream: FilterStream): HttpFilter | undefined {
    const facts = new RequestFacts(stream);
    const stats = this.#stats;
    if (this.#shadow !== undefined) {
      const shadow = this.#shadow.evaluate(facts);
      stats.inc(shadow.allowed ? this.#names.shadowAllowed : this.#names.shadowDenied);
    }
    const enforced = this.#enforced;
    if (enforced === undefined) return undefined;
    const decision = enforced.evaluate(facts);
    if (enforced.action === 'LOG') {
      stats.inc(decision.policy === undefined ? this.#names.notLogged : this.#names.logged);
      return undefined;
    }
    if (decision.allowed) {
      stats.inc(this.#names.allowed);
      return undefined;
    }
    stats.inc(this.#names.denied);
    const reply: LocalReply = { status: 403, body: 'RBAC: access denied', flags: RBAC_FLAG };
    if (stream.grpc) reply.grpcStatus = GrpcStatus.PERMISSION_DENIED;
    return new Answer(reply);
  }
}

/** The RBAC filter type (registered by filters/setup.ts). */
export const rbacFilter = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv): PreparedFilter {
    if (config.typeName !== RBAC_TYPE) throw new Error(`the RBAC filter got a ${config.typeName} config`);
    return new PreparedRbac(config.config, env);
  },
};
