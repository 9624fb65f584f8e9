// How large AuthorizationPolicies may grow: they become RBAC filters, one per action and service, which the sidecar
// refuses past 65,536 rules (a refused filter would leave the previous policy in force).

/** Values (principals, paths, header values, …) one policy may hold in all. */
export const MAX_POLICY_VALUES = 1_000;

/** Every value a policy's rules match on (each becomes one or a few RBAC rules). */
export function policyValueCount(spec: { rules?: unknown }): number {
  let n = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) visit(x);
    else n++;
  };
  visit(spec.rules ?? []);
  return n;
}
