// Cross-reference checks over a whole state: routes and traffic policies must point at services, ports and subsets that
// exist; at most one Telemetry and one PeerAuthentication per scope (mesh-wide, or one service).

import { policyValueCount } from './authorization-size.ts';
import type {
  AuthorizationPolicyResource,
  PeerAuthenticationResource,
  Resource,
  ResourceKey,
  RouteDestination,
  RouteResource,
  ServiceResource,
  TelemetryResource,
  TrafficPolicyResource,
} from './types.ts';
import { keyOf } from './types.ts';

/**
 * Every dangling reference in `all` (the state that would result from a change), one message per reference, e.g.
 * `Route orders: spec.http[0].route[0].service: service "paymnts" does not exist`. `deleted` names the resources the
 * change removes, so a reference to one of them reads "… would be deleted but is still referenced here" instead of "does not exist".
 */
export function checkReferences(all: readonly Resource[], deleted: readonly ResourceKey[] = []): string[] {
  const gone = new Set(deleted.map(keyOf));
  const missing = (kind: string, name: string) =>
    gone.has(`${kind}/${name}`) ? 'would be deleted but is still referenced here' : 'does not exist';
  const services = new Map<string, ServiceResource>();
  const routes: RouteResource[] = [];
  const policies: TrafficPolicyResource[] = [];
  const telemetry: TelemetryResource[] = [];
  const peerAuth: PeerAuthenticationResource[] = [];
  const authz: AuthorizationPolicyResource[] = [];
  for (const r of all) {
    if (r.kind === 'Service') services.set(r.metadata.name, r);
    else if (r.kind === 'Route') routes.push(r);
    else if (r.kind === 'TrafficPolicy') policies.push(r);
    else if (r.kind === 'Telemetry') telemetry.push(r);
    else if (r.kind === 'PeerAuthentication') peerAuth.push(r);
    else if (r.kind === 'AuthorizationPolicy') authz.push(r);
  }
  const errors: string[] = [
    ...scopeErrors('Telemetry', telemetry),
    ...scopeErrors('PeerAuthentication', peerAuth),
    ...authorizationSizeErrors(authz),
  ];
  const policyOf = new Map<string, TrafficPolicyResource>();
  for (const tp of [...policies].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const at = `TrafficPolicy ${tp.metadata.name}: spec.service`;
    const svc = tp.spec.service;
    const other = policyOf.get(svc);
    if (!services.has(svc)) errors.push(`${at}: service "${svc}" ${missing('Service', svc)}`);
    if (other) {
      errors.push(`${at}: service "${svc}" already has TrafficPolicy ${other.metadata.name} (at most one per service)`);
    } else {
      policyOf.set(svc, tp);
    }
  }
  for (const route of routes) {
    route.spec.http.forEach((rule, i) => {
      const dests: [RouteDestination, string][] = (rule.route ?? []).map((dest, j) => [dest, `route[${j}]`]);
      if (rule.mirror !== undefined) dests.push([rule.mirror, 'mirror']);
      for (const [dest, where] of dests) {
        const at = `Route ${route.metadata.name}: spec.http[${i}].${where}`;
        const svc = services.get(dest.service);
        if (!svc) {
          errors.push(`${at}.service: service "${dest.service}" ${missing('Service', dest.service)}`);
          continue;
        }
        if (dest.port !== undefined && !svc.spec.ports.some((p) => p.port === dest.port)) {
          const ports = svc.spec.ports.map((p) => p.port).join(', ');
          errors.push(`${at}.port: service "${dest.service}" has no port ${dest.port} (its ports: ${ports})`);
        }
        if (dest.subset !== undefined) {
          const tp = policyOf.get(dest.service);
          if (!tp) {
            errors.push(
              `${at}.subset: subset "${dest.subset}" is not defined: service "${dest.service}" has no TrafficPolicy`,
            );
          } else if (!(tp.spec.subsets ?? []).some((s) => s.name === dest.subset)) {
            errors.push(
              `${at}.subset: subset "${dest.subset}" is not defined by TrafficPolicy ${tp.metadata.name} for service "${dest.service}"`,
            );
          }
        }
      }
    });
  }
  return errors;
}

/**
 * A Telemetry applies mesh-wide (no selector) or to one service; two for the same scope would be ambiguous. A selector
 * may name a service that does not exist (yet): it then applies to nothing.
 */
/** At most one resource of a kind per scope: the mesh (no selector) or one service. */
function scopeErrors(
  kind: 'Telemetry' | 'PeerAuthentication',
  resources: readonly (TelemetryResource | PeerAuthenticationResource)[],
): string[] {
  const errors: string[] = [];
  const byScope = new Map<string, string>();
  for (const t of [...resources].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const service = t.spec.selector?.service;
    const scope = service === undefined ? 'the mesh' : `service "${service}"`;
    const other = byScope.get(scope);
    if (other === undefined) byScope.set(scope, t.metadata.name);
    else
      errors.push(
        `${kind} ${t.metadata.name}: ${service === undefined ? 'spec.selector' : 'spec.selector.service'}: ${scope} already has ${kind} ${other} (at most one per scope)`,
      );
  }
  return errors;
}

/** The errors in `after` that were not already in `before`: what a change would newly break. */
export function newReferenceErrors(
  before: readonly Resource[],
  after: readonly Resource[],
  deleted: readonly ResourceKey[] = [],
): string[] {
  const old = new Set(checkReferences(before));
  return checkReferences(after, deleted).filter((e) => !old.has(e));
}

/**
 * The values the AuthorizationPolicies of one action applying to one service may hold together: they become one RBAC
 * filter, which the sidecar refuses past 65,536 rules (a refused filter would leave the old policy in force).
 */
export const AUTHORIZATION_VALUES_PER_FILTER = 10_000;

function authorizationSizeErrors(policies: readonly AuthorizationPolicyResource[]): string[] {
  const meshWide = new Map<string, number>();
  const perService = new Map<string, Map<string, number>>();
  for (const p of policies) {
    const action = p.spec.action ?? 'ALLOW';
    const n = policyValueCount(p.spec) + (p.spec.rules?.length ?? 0);
    const service = p.spec.selector?.service;
    if (service === undefined) meshWide.set(action, (meshWide.get(action) ?? 0) + n);
    else {
      const m = perService.get(service) ?? new Map<string, number>();
      m.set(action, (m.get(action) ?? 0) + n);
      perService.set(service, m);
    }
  }
  const errors: string[] = [];
  const check = (scope: string, action: string, n: number): void => {
    if (n > AUTHORIZATION_VALUES_PER_FILTER)
      errors.push(
        `AuthorizationPolicy: ${scope}: the ${action} policies hold ${n} values and rules in all, at most ${AUTHORIZATION_VALUES_PER_FILTER} (one RBAC filter)`,
      );
  };
  for (const [action, n] of meshWide) check('the mesh-wide ones', action, n);
  for (const [service, m] of [...perService].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    for (const [action, n] of m)
      check(`service "${service}" (with the mesh-wide ones)`, action, n + (meshWide.get(action) ?? 0));
  return errors;
}
