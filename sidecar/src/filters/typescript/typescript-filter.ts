// Filters written in TypeScript (trellis.filters.v1.TypeScriptFilter): each config compiled once into its own sandbox
// (@trellis/filter-api); per request its onRequest may set request headers or answer, its onResponse may set response
// headers. A hook that throws or runs past its budget fails that request with a 500, counted, never the proxy. Stats:
// http.<prefix>.typescript_filter.<name>.{errors,timeouts,replies,<what the filter counts>}.
import { FilterSandbox, type HookResult } from '@trellis/filter-api';
import type { Stats } from '../../common/stats.ts';
import { takeCompiledFilter } from '../../config/decode-typescript-filter.ts';
import {
  type HttpFilterTypedConfig,
  TYPESCRIPT_FILTER_PER_ROUTE_TYPE,
  TYPESCRIPT_FILTER_TYPE,
  type TypeScriptFilterConfig,
  type TypeScriptFilterPerRouteConfig,
} from '../../config/model.ts';
import type {
  FilterEnv,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseHead,
  StreamLog,
} from '../../http/filter/filter.ts';
import { headerRemove, headerSet } from '../../http/message/header-list.ts';
import type { LocalReply } from '../../http/message/reply.ts';

/** Distinct counter names one filter may create (a filter must not flood the stats). */
const MAX_COUNTERS = 64;
const FAILED: LocalReply = { status: 500, body: 'filter error', flags: '' };
/** Headers a filter may not set: the proxy's own framing and hop-by-hop fields. */
const RESERVED: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'host',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

class PreparedTypeScript implements PreparedFilter {
  readonly sandbox: FilterSandbox;
  readonly #stats: Stats;
  readonly #base: string;
  readonly #counters = new Set<string>();
  readonly #log: ((message: string) => void) | undefined;
  #nextId = 0;

  constructor(config: TypeScriptFilterConfig, env: FilterEnv) {
    // The decoder compiled it (that is how a bad module is NACKed): its sandbox is taken, not compiled again.
    this.sandbox =
      takeCompiledFilter(config) ?? FilterSandbox.compile(config.name, config.source, config.config, config.timeoutMs);
    this.#stats = env.stats;
    this.#base = `http.${env.statPrefix}.typescript_filter.${config.name}.`;
    const logger = env.logger?.child({ filter: config.name });
    this.#log = logger === undefined ? undefined : (message) => logger.info(message);
  }

  /** The proxy's own counters of the filter: errors, timeouts, replies. */
  own(name: 'errors' | 'timeouts' | 'replies'): void {
    this.#stats.inc(this.#base + name);
  }

  /** A hook's results that are not about the request: its counters and its log lines. */
  report(result: HookResult): void {
    for (const c of result.counts) this.count(c);
    if (this.#log !== undefined) for (const line of result.logs) this.#log(line);
  }

  /** What the filter counts (`context.count`), under `count.`, at most MAX_COUNTERS names. */
  count(name: string): void {
    const safe = name
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 64);
    if (!this.#counters.has(safe)) {
      if (this.#counters.size >= MAX_COUNTERS) return;
      this.#counters.add(safe);
    }
    this.#stats.inc(`${this.#base}count.${safe}`);
  }

  nextId(): number {
    this.#nextId = (this.#nextId + 1) % Number.MAX_SAFE_INTEGER;
    return this.#nextId;
  }

  create(): HttpFilter | undefined {
    return new TypeScriptFilter(this, null);
  }
}

/** Applies a hook's header changes to a header list, skipping reserved or malformed ones. */
function applySets(sets: HookResult['set'], apply: (name: string, value: string | undefined) => void): void {
  for (const [name, value] of sets) {
    if (!TOKEN.test(name) || RESERVED.has(name) || (value !== null && !VALUE.test(value))) continue;
    apply(name, value ?? undefined);
  }
}

class TypeScriptFilter implements HttpFilter {
  readonly #prepared: PreparedTypeScript;
  readonly #routeConfig: unknown;
  readonly #id: number;
  #called = false;

  constructor(prepared: PreparedTypeScript, routeConfig: unknown) {
    this.#prepared = prepared;
    this.#routeConfig = routeConfig;
    this.#id = prepared.nextId();
  }

  onRequestHeaders(stream: FilterStream): 'continue' | 'stop' {
    const prepared = this.#prepared;
    const sandbox = prepared.sandbox;
    if (!sandbox.hooks.request) return 'continue';
    this.#called = true;
    const body = stream.requestBody();
    const outcome = sandbox.request({
      id: this.#id,
      method: stream.method,
      path: stream.path,
      query: stream.query,
      authority: stream.authority,
      clientAddress: stream.clientAddress,
      headers: [...stream.requestHeaders()],
      body: body === undefined ? null : body.toString('utf8'),
      routeConfig: this.#routeConfig,
    });
    if ('failed' in outcome) {
      prepared.own(outcome.failed === 'timeout' ? 'timeouts' : 'errors');
      stream.localReply(FAILED);
      return 'stop';
    }
    const result = outcome.ok;
    prepared.report(result);
    applySets(result.set, (name, value) => stream.setRequestHeader(name, value));
    const reply = result.reply;
    if (reply === undefined) return 'continue';
    prepared.own('replies');
    const headers: string[] = [];
    for (let i = 0; i < reply.headers.length; i += 2) {
      const name = reply.headers[i] as string;
      const value = reply.headers[i + 1] as string;
      if (TOKEN.test(name) && !RESERVED.has(name) && VALUE.test(value)) headers.push(name, value);
    }
    stream.localReply({ status: reply.status, body: reply.body, flags: '', headers });
    return 'stop';
  }

  onResponseHeaders(head: ResponseHead): undefined {
    const prepared = this.#prepared;
    const sandbox = prepared.sandbox;
    if (!sandbox.hooks.response || head.local === true) return undefined;
    this.#called = true;
    const outcome = sandbox.response({
      id: this.#id,
      status: head.status,
      headers: [...head.headers],
      routeConfig: this.#routeConfig,
    });
    if ('failed' in outcome) {
      // The head is on its way: it goes as it was, the failure counted.
      prepared.own(outcome.failed === 'timeout' ? 'timeouts' : 'errors');
      return undefined;
    }
    prepared.report(outcome.ok);
    applySets(outcome.ok.set, (name, value) => {
      if (value === undefined) headerRemove(head.headers, name);
      else headerSet(head.headers, name, value);
    });
    return undefined;
  }

  onResponseTrailers(trailers: string[]): void {
    const prepared = this.#prepared;
    const sandbox = prepared.sandbox;
    if (!sandbox.hooks.trailers) return;
    this.#called = true;
    const outcome = sandbox.trailers({ id: this.#id, headers: [...trailers], routeConfig: this.#routeConfig });
    if ('failed' in outcome) {
      // The body went out: the trailers go as they were, the failure counted.
      prepared.own(outcome.failed === 'timeout' ? 'timeouts' : 'errors');
      return;
    }
    prepared.report(outcome.ok);
    applySets(outcome.ok.set, (name, value) => {
      if (value === undefined) headerRemove(trailers, name);
      else if (TOKEN.test(name) && !RESERVED.has(name) && VALUE.test(value)) headerSet(trailers, name, value);
    });
  }

  onLog(log: StreamLog): void {
    const prepared = this.#prepared;
    const sandbox = prepared.sandbox;
    if (!sandbox.hooks.log) return;
    this.#called = true;
    const outcome = sandbox.log({
      id: this.#id,
      headers: [],
      log: {
        status: log.status,
        grpcStatus: log.grpcStatus ?? null,
        flags: log.flags,
        route: log.routeName,
        cluster: log.cluster,
        attempts: log.attempts,
        upstreamAddress: log.upstreamAddress ?? null,
        bytesReceived: log.bytesReceived,
        bytesSent: log.bytesSent,
        reset: log.reset,
        durationMs: Math.round(log.durationMs * 1000) / 1000,
      },
      routeConfig: this.#routeConfig,
    });
    if ('failed' in outcome) {
      prepared.own(outcome.failed === 'timeout' ? 'timeouts' : 'errors');
      return;
    }
    prepared.report(outcome.ok);
  }

  onDestroy(): void {
    if (this.#called) this.#prepared.sandbox.end(this.#id);
  }
}

/** A route's override: the connection manager's filter (its sandbox) with the route's config, or off. */
function routeOverride(base: PreparedTypeScript, override: TypeScriptFilterPerRouteConfig): PreparedFilter {
  if (override.disabled) return { create: () => undefined };
  return { create: () => new TypeScriptFilter(base, override.config) };
}

/** The TypeScript filter type (registered by filters/setup.ts). */
export const typescriptFilter: HttpFilterFactory = {
  prepare(config: HttpFilterTypedConfig, env: FilterEnv, base?: PreparedFilter): PreparedFilter {
    if (config.typeName === TYPESCRIPT_FILTER_TYPE) return new PreparedTypeScript(config.config, env);
    if (config.typeName === TYPESCRIPT_FILTER_PER_ROUTE_TYPE && base instanceof PreparedTypeScript)
      return routeOverride(base, config.config);
    throw new Error(`the TypeScript filter got a ${config.typeName} config`);
  },
};
