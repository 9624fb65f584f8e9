// envoy.filters.network.rbac in front of a listener's handler: each connection is checked once when it is handed
// on (after TLS, so the peer's identity is known); a denied one is closed before any byte reaches the app. Stats:
// <stat_prefix>rbac.allowed / denied / shadow_allowed / shadow_denied.
import type { Socket } from 'node:net';
import { downstreamConnectionOf } from '../../common/downstream-connection.ts';
import type { Stats } from '../../common/stats.ts';
import type { NetworkRbacConfig } from '../../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from '../../listeners/connection-handler.ts';
import { CompiledRbac, type RbacFacts } from './rbac-engine.ts';

/** A connection's facts: no headers, no path. */
function connectionFacts(socket: Socket): RbacFacts {
  const c = downstreamConnectionOf(socket);
  return {
    header: () => undefined,
    path: '',
    directRemoteIp: c.remoteAddress,
    remoteIp: c.remoteAddress,
    localIp: c.localAddress,
    localPort: c.localPort,
    peerPrincipal: c.peerPrincipal,
    serverName: c.serverName,
    metadata: () => undefined,
  };
}

interface Check {
  enforced: CompiledRbac | undefined;
  shadow: CompiledRbac | undefined;
  names: Readonly<Record<'allowed' | 'denied' | 'logged' | 'notLogged' | 'shadowAllowed' | 'shadowDenied', string>>;
}

function compile(config: NetworkRbacConfig): Check {
  const rules = `${config.statPrefix}rbac.${config.rulesStatPrefix}`;
  const shadow = `${config.statPrefix}rbac.${config.shadowRulesStatPrefix}`;
  return {
    enforced: config.rules === undefined ? undefined : new CompiledRbac(config.rules),
    shadow: config.shadowRules === undefined ? undefined : new CompiledRbac(config.shadowRules),
    names: {
      allowed: `${rules}allowed`,
      denied: `${rules}denied`,
      logged: `${rules}logged`,
      notLogged: `${rules}not_logged`,
      shadowAllowed: `${shadow}shadow_allowed`,
      shadowDenied: `${shadow}shadow_denied`,
    },
  };
}

class RbacGate implements ConnectionHandler {
  readonly #inner: ConnectionHandler;
  readonly #checks: readonly Check[];
  readonly #stats: Stats;

  constructor(inner: ConnectionHandler, checks: readonly Check[], stats: Stats) {
    this.#inner = inner;
    this.#checks = checks;
    this.#stats = stats;
  }

  handle(socket: Socket): void {
    const facts = connectionFacts(socket);
    for (const check of this.#checks) {
      if (check.shadow !== undefined)
        this.#stats.inc(check.shadow.evaluate(facts).allowed ? check.names.shadowAllowed : check.names.shadowDenied);
      if (check.enforced === undefined) continue;
      const decision = check.enforced.evaluate(facts);
      if (check.enforced.action === 'LOG') {
        this.#stats.inc(decision.policy === undefined ? check.names.notLogged : check.names.logged);
        continue;
      }
      if (!decision.allowed) {
        this.#stats.inc(check.names.denied);
        socket.destroy();
        return;
      }
      this.#stats.inc(check.names.allowed);
    }
    this.#inner.handle(socket);
  }

  drain(graceMs: number): Promise<void> {
    return this.#inner.drain(graceMs);
  }

  activeConnections(): number {
    return this.#inner.activeConnections();
  }
}

/** Wraps every factory: listeners with network RBAC filters check each connection before their handler sees it. */
export function rbacEnforcing<D>(factory: ConnectionHandlerFactory<D>, stats: Stats): ConnectionHandlerFactory<D> {
  return (listener, deps) => {
    const inner = factory(listener, deps);
    if (listener.rbac === undefined || listener.rbac.length === 0) return inner;
    return new RbacGate(inner, listener.rbac.map(compile), stats);
  };
}
