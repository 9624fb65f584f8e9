// `trellisctl analyze`: cross-resource checks over a whole state, each finding with a code, the resources involved and
// a fix hint. Errors are what apply refuses (dangling references); warnings are configs that apply but do not do what
// they seem to: rules no request can reach, retries the route timeout cuts short, policies selecting nothing, subsets
// no endpoint is in.
import type { ClientKind } from '@trellis/node-contract';
import { parseDuration } from '../resources/duration.ts';
import { checkReferences } from '../resources/references.ts';
import { hostNamesService, routeHostsFor, splitHost } from '../resources/route-hosts.ts';
import type {
  HttpMatch,
  HttpRule,
  Resource,
  RouteResource,
  ServiceResource,
  TrafficPolicyResource,
} from '../resources/types.ts';
import type { MeshState } from '../translator/mesh-state.ts';
import { translateWithWarnings } from '../translator/translate.ts';

export type Severity = 'error' | 'warning';

export interface Finding {
  /** Stable identifier of the check (TA001…), for scripts and docs. */
  code: string;
  severity: Severity;
  /** `Kind/name` of each resource involved. */
  resources: string[];
  message: string;
  hint: string;
}

/** The checks, by code: what each finds (docs/cli.md lists them). */
export const CHECKS: Readonly<Record<string, string>> = {
  TA001: 'a reference to a service, port or subset that does not exist (apply refuses it)',
  TA002: 'an HTTP rule no request can reach: an earlier rule of the Route matches everything it would',
  TA003: "a rule's timeout ends requests before their retries are spent",
  TA004: 'a policy whose selector names no Service: it applies to nothing',
  TA005: "a subset whose labels match none of the service's static endpoints",
  TA006:
    'a Route whose rules for a service port can never match: an earlier Route (by name) for the port matches every request',
  TA007: 'STRICT mTLS for a service a connected plaintext-only client (proxyless gRPC without a certificate) calls',
  TA008:
    'what the translator cannot express for a kind of client (sidecars, proxyless gRPC, Envoy) and leaves out or changes',
};

/** Client kinds the translator serves, in the words findings use. */
const CLIENT_KINDS: readonly [ClientKind, string][] = [
  ['sidecar', 'Trellis sidecars'],
  ['proxyless', 'proxyless gRPC clients'],
  ['envoy', 'Envoy'],
];

/** The translator's input for a state of resources alone (no proxies announced: static endpoints only). */
function meshStateOf(all: readonly Resource[]): MeshState {
  const of = <K extends Resource['kind']>(kind: K) =>
    all.filter((r) => r.kind === kind) as Extract<Resource, { kind: K }>[];
  return {
    services: of('Service'),
    routes: of('Route'),
    policies: of('TrafficPolicy'),
    telemetry: of('Telemetry'),
    peerAuthentications: of('PeerAuthentication'),
    authorizationPolicies: of('AuthorizationPolicy'),
    requestAuthentications: of('RequestAuthentication'),
    gateways: of('Gateway'),
    endpoints: new Map(),
  };
}

/**
 * The translator's own warnings (what the control plane logs when it publishes), per client kind: a config that
 * applies but reaches some clients changed or not at all. `kinds` limits them to the kinds connected (`--live`).
 */
function translationWarnings(all: readonly Resource[], kinds: ReadonlySet<string> | undefined): Finding[] {
  const state = meshStateOf(all);
  const byWarning = new Map<string, string[]>();
  for (const [kind, label] of CLIENT_KINDS) {
    if (kinds !== undefined && !kinds.has(kind)) continue;
    for (const w of translateWithWarnings(state, kind).warnings) byWarning.set(w, [...(byWarning.get(w) ?? []), label]);
  }
  /** The resource a warning is about, from its opening words (`Route web: …`, `TrafficPolicy of service web: …`). */
  const aboutOf = (warning: string): string[] => {
    const policy = /^TrafficPolicy of service ([^:\s]+)/.exec(warning);
    if (policy !== null) {
      const tp = all.find((r) => r.kind === 'TrafficPolicy' && r.spec.service === policy[1]);
      return tp === undefined ? [] : [`TrafficPolicy/${tp.metadata.name}`];
    }
    const m = /^(Route|Gateway|gateway) ([^:\s/]+)/.exec(warning);
    return m === null ? [] : [`${m[1] === 'gateway' ? 'Gateway' : m[1]}/${m[2]}`];
  };
  return [...byWarning].map(([warning, labels]) => ({
    code: 'TA008',
    severity: 'warning',
    resources: aboutOf(warning),
    message: `for ${labels.join(', ')}: ${warning}`,
    hint: 'change the resource so every kind of client can be given it, or accept the difference for these clients',
  }));
}

/** A connected proxy as analyze reads it (the control plane's proxy list; `--live`). */
export interface ConnectedProxy {
  nodeId: string;
  /** 'sidecar' | 'envoy' | 'proxyless' */
  clientKind: string;
  /** The SPIFFE id its xDS connection proved; '' on the plaintext xDS port. */
  identity: string;
  /** Listener names it subscribed to (a proxyless client: one per target it dials, `web:8080`). */
  listeners: readonly string[];
}

/** A match entry every request satisfies (no condition, or only the path prefix "/"). */
function matchesAll(m: HttpMatch): boolean {
  const conditions = Object.entries(m).filter(([, v]) => v !== undefined);
  return conditions.length === 0 || (conditions.length === 1 && m.pathPrefix === '/');
}

/** The requests a rule matches, as a comparable key; undefined when it matches every request. */
function matchKey(rule: HttpRule): string | undefined {
  const entries = rule.match ?? [];
  if (entries.length === 0 || entries.some(matchesAll)) return undefined;
  return JSON.stringify(entries.map((m) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1)))));
}

function ruleLabel(rule: HttpRule, i: number): string {
  return rule.name === undefined ? `spec.http[${i}]` : `spec.http[${i}] (${rule.name})`;
}

function unreachableRules(route: RouteResource): Finding[] {
  const out: Finding[] = [];
  const seen = new Map<string, number>();
  let catchAll: number | undefined;
  route.spec.http.forEach((rule, i) => {
    const key = matchKey(rule);
    const earlier = catchAll ?? (key === undefined ? undefined : seen.get(key));
    if (earlier !== undefined) {
      out.push({
        code: 'TA002',
        severity: 'warning',
        resources: [`Route/${route.metadata.name}`],
        message: `${ruleLabel(rule, i)} can never match: ${ruleLabel(route.spec.http[earlier] as HttpRule, earlier)} ${
          catchAll === undefined ? 'has the same matches' : 'matches every request'
        } and comes first`,
        hint: 'rules are tried in order: move the more specific rule before the broader one, or remove it',
      });
      return;
    }
    if (key === undefined) catchAll = i;
    else seen.set(key, i);
  });
  return out;
}

/**
 * The rules of every Route addressing one service port are joined in name order (the translator's, after the store's
 * listing): a Route with a rule matching every request hides every Route after it for that port.
 */
function routesShadowed(all: readonly Resource[], services: ReadonlyMap<string, ServiceResource>): Finding[] {
  const routes = all
    .filter((r): r is RouteResource => r.kind === 'Route')
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const out: Finding[] = [];
  for (const svc of services.values()) {
    for (const { port } of svc.spec.ports) {
      let catchAll: { route: RouteResource; rule: number } | undefined;
      for (const route of routes) {
        if (routeHostsFor(route, svc.metadata.name, port).length === 0) continue;
        if (catchAll !== undefined) {
          out.push({
            code: 'TA006',
            severity: 'warning',
            resources: [`Route/${route.metadata.name}`, `Route/${catchAll.route.metadata.name}`],
            message: `its rules for service ${svc.metadata.name} port ${port} can never match: Route ${catchAll.route.metadata.name} comes first (Routes for one service port are joined in name order) and its ${ruleLabel(catchAll.route.spec.http[catchAll.rule] as HttpRule, catchAll.rule)} matches every request`,
            hint: `merge the two Routes into one with the catch-all rule last, or narrow Route ${catchAll.route.metadata.name}'s catch-all`,
          });
          continue;
        }
        const rule = route.spec.http.findIndex((r) => matchKey(r) === undefined);
        if (rule >= 0) catchAll = { route, rule };
      }
    }
  }
  return out;
}

function retriesCutShort(route: RouteResource): Finding[] {
  const out: Finding[] = [];
  route.spec.http.forEach((rule, i) => {
    const timeout = rule.timeout === undefined ? undefined : parseDuration(rule.timeout);
    const perTry = rule.retries?.perTryTimeout === undefined ? undefined : parseDuration(rule.retries.perTryTimeout);
    const attempts = rule.retries?.attempts ?? 0;
    // A timeout of 0 disables it; without a per-try timeout each try may take the whole route timeout.
    if (timeout === undefined || timeout === 0 || perTry === undefined || perTry === 0 || attempts === 0) return;
    const tries = attempts + 1;
    if (timeout >= tries * perTry) return;
    out.push({
      code: 'TA003',
      severity: 'warning',
      resources: [`Route/${route.metadata.name}`],
      message: `${ruleLabel(rule, i)}: timeout ${rule.timeout} is shorter than ${tries} tries × perTryTimeout ${
        rule.retries?.perTryTimeout
      }: slow tries leave no time for the last retries`,
      hint: `raise timeout to at least ${(tries * perTry) / 1000}s, or lower retries.attempts or retries.perTryTimeout`,
    });
  });
  return out;
}

function policiesSelectingNothing(all: readonly Resource[], services: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  for (const r of all) {
    if (
      r.kind !== 'AuthorizationPolicy' &&
      r.kind !== 'RequestAuthentication' &&
      r.kind !== 'PeerAuthentication' &&
      r.kind !== 'Telemetry'
    )
      continue;
    const service = r.spec.selector?.service;
    if (service === undefined || services.has(service)) continue;
    out.push({
      code: 'TA004',
      severity: 'warning',
      resources: [`${r.kind}/${r.metadata.name}`],
      message: `spec.selector.service: no Service "${service}": the ${r.kind} applies to nothing`,
      hint: `fix the service name, apply Service ${service}, or drop the selector to apply it mesh-wide`,
    });
  }
  return out;
}

function emptySubsets(policy: TrafficPolicyResource, service: ServiceResource | undefined): Finding[] {
  const endpoints = service?.spec.endpoints ?? [];
  // Sidecars announce their endpoints with their labels at run time: only static endpoints can be checked here.
  if (service === undefined || endpoints.length === 0) return [];
  const out: Finding[] = [];
  for (const subset of policy.spec.subsets ?? []) {
    const inSubset = endpoints.some((e) => Object.entries(subset.labels).every(([k, v]) => e.labels?.[k] === v));
    if (inSubset) continue;
    const labels = Object.entries(subset.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    out.push({
      code: 'TA005',
      severity: 'warning',
      resources: [`TrafficPolicy/${policy.metadata.name}`, `Service/${service.metadata.name}`],
      message: `subset "${subset.name}" (${labels}): none of service "${service.metadata.name}"'s ${endpoints.length} static endpoints has these labels; requests routed to it get 503 unless sidecars announce such endpoints`,
      hint: 'fix the subset labels, or label the endpoints (spec.endpoints[].labels, or the sidecars\u2019 --labels)',
    });
  }
  return out;
}

/** The mTLS mode a service's sidecars take inbound: its own PeerAuthentication, else the mesh-wide one, else PERMISSIVE. */
function mtlsModeOf(all: readonly Resource[], service: string): string {
  let meshWide: string | undefined;
  for (const r of all) {
    if (r.kind !== 'PeerAuthentication') continue;
    if (r.spec.selector?.service === service) return r.spec.mtls.mode;
    if (r.spec.selector === undefined) meshWide = r.spec.mtls.mode;
  }
  return meshWide ?? 'PERMISSIVE';
}

/**
 * A proxyless gRPC client on the plaintext xDS port holds no mesh certificate: it cannot reach a service whose
 * sidecars take mTLS only. Which services it calls: the listeners it subscribed to (one per `xds:///target`).
 */
function strictForPlaintextClients(
  all: readonly Resource[],
  services: ReadonlyMap<string, ServiceResource>,
  proxies: readonly ConnectedProxy[],
): Finding[] {
  const out: Finding[] = [];
  for (const svc of services.values()) {
    const name = svc.metadata.name;
    if (mtlsModeOf(all, name) !== 'STRICT') continue;
    const callers = proxies.filter(
      (p) =>
        p.clientKind === 'proxyless' &&
        p.identity === '' &&
        p.listeners.some((l) => hostNamesService(splitHost(l).host, name)),
    );
    if (callers.length === 0) continue;
    out.push({
      code: 'TA007',
      severity: 'warning',
      resources: [`Service/${name}`],
      message: `service ${name} takes mTLS only (STRICT), and ${callers.length} connected plaintext-only client(s) call it: ${callers
        .map((p) => p.nodeId)
        .sort()
        .join(', ')}; their calls fail at the TLS handshake`,
      hint: 'give those clients certificates (trellis-agent, gRFC A29), or keep the service PERMISSIVE until they have them',
    });
  }
  return out;
}

/** `Kind name: …` at the start of a reference error: the resource it is about. */
function referenceFinding(message: string): Finding {
  const m = /^(\w+) ([^:\s]+):/.exec(message);
  return {
    code: 'TA001',
    severity: 'error',
    resources: m === null ? [] : [`${m[1]}/${m[2]}`],
    message,
    hint: 'apply the resource it names, or fix the name; apply refuses a state with this',
  };
}

/**
 * Every finding for `all` (a whole state), errors first, then by code and resource; `proxies` (the connected ones,
 * with `--live`) adds the checks that need to know who calls what.
 */
export function analyze(all: readonly Resource[], proxies: readonly ConnectedProxy[] = []): Finding[] {
  const services = new Map<string, ServiceResource>();
  for (const r of all) if (r.kind === 'Service') services.set(r.metadata.name, r);
  const findings: Finding[] = [...checkReferences(all).map(referenceFinding)];
  for (const r of all) {
    if (r.kind === 'Route') findings.push(...unreachableRules(r), ...retriesCutShort(r));
    else if (r.kind === 'TrafficPolicy') findings.push(...emptySubsets(r, services.get(r.spec.service)));
  }
  findings.push(...routesShadowed(all, services));
  findings.push(...strictForPlaintextClients(all, services, proxies));
  // Offline every kind of client is considered; live, the kinds connected.
  const kinds = proxies.length === 0 ? undefined : new Set(proxies.map((p) => p.clientKind));
  if (findings.every((f) => f.severity !== 'error')) findings.push(...translationWarnings(all, kinds));
  findings.push(...policiesSelectingNothing(all, new Set(services.keys())));
  const rank = (f: Finding): number => (f.severity === 'error' ? 0 : 1);
  const order = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return findings.sort(
    (a, b) => rank(a) - rank(b) || order(a.code, b.code) || order(a.resources[0] ?? '', b.resources[0] ?? ''),
  );
}
