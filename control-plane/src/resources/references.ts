// Cross-reference checks over a whole state: routes and traffic policies must point at services, ports and subsets that exist.
import type { Resource, ResourceKey, RouteResource, ServiceResource, TrafficPolicyResource } from './types.ts';
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
  for (const r of all) {
    if (r.kind === 'Service') services.set(r.metadata.name, r);
    else if (r.kind === 'Route') routes.push(r);
    else policies.push(r);
  }
  const errors: string[] = [];
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
      rule.route.forEach((dest, j) => {
        const at = `Route ${route.metadata.name}: spec.http[${i}].route[${j}]`;
        const svc = services.get(dest.service);
        if (!svc) {
          errors.push(`${at}.service: service "${dest.service}" ${missing('Service', dest.service)}`);
          return;
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
      });
    });
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
