// The demo's [f] key: fault injection with the mesh's fault filter (Envoy's envoy.filters.http.fault), added to or
// removed from every rule of the orders Route as it is now (a canary split the user applied stays as it is).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { trellisctl } from './trellisctl.ts';

/** What [f] injects at web's sidecar: a fifth of its calls to orders answered 503 there (no orders app sees them). */
export const DEMO_FAULT = { abort: { httpStatus: 503, percent: 20 } } as const;
/** The Route the fault goes on. */
export const FAULT_ROUTE = 'orders';

/** The Route document (as `trellisctl get -o yaml` prints it) with `fault` set on every rule, or removed from each. */
export function withFault(routeYaml: string, fault: object | undefined): string {
  const doc = YAML.parse(routeYaml) as { spec?: { http?: Record<string, unknown>[] } };
  for (const rule of doc.spec?.http ?? []) {
    if (fault === undefined) delete rule['fault'];
    else rule['fault'] = structuredClone(fault);
  }
  return YAML.stringify(doc);
}

/** Turns the demo fault on or off on a Route through the operator API, as a user would with trellisctl. */
export async function setMeshFault(api: string, on: boolean, route = FAULT_ROUTE): Promise<void> {
  const current = await trellisctl(api, ['get', 'route', route, '-o', 'yaml']);
  const dir = mkdtempSync(path.join(tmpdir(), 'trellis-demo-fault-'));
  try {
    const file = path.join(dir, 'route.yaml');
    writeFileSync(file, withFault(current, on ? DEMO_FAULT : undefined));
    await trellisctl(api, ['apply', '-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
