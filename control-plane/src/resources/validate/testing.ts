// Test helpers for the spec validators: validate one TrafficPolicy or Route rule, get its errors without the prefix.
import assert from 'node:assert/strict';
import { validateResource } from './validate.ts';

/** The errors of TrafficPolicy orders with this spec (service: orders added), minus `document 1 (TrafficPolicy orders): `. */
export function policyErrors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'TrafficPolicy', metadata: { name: 'orders' }, spec };
  return strip(validateResource({ ...doc, spec: { service: 'orders', ...spec } }, 'document 1').errors, doc.kind);
}

/** The errors of Route orders holding this one rule (a destination added), minus the document prefix. */
export function ruleErrors(rule: Record<string, unknown>): string[] {
  const spec = { hosts: ['orders'], http: [{ route: [{ service: 'orders' }], ...rule }] };
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'Route', metadata: { name: 'orders' }, spec };
  return strip(validateResource(doc, 'document 1').errors, doc.kind);
}

function strip(errors: string[], kind: string): string[] {
  const prefix = `document 1 (${kind} orders): `;
  for (const e of errors) assert.ok(e.startsWith(prefix), e);
  return errors.map((e) => e.slice(prefix.length));
}

/** Runs a table of [input, expected errors] through `errorsOf`. */
export function expectErrors<T>(
  errorsOf: (input: T) => string[],
  table: readonly (readonly [T, readonly string[]])[],
): void {
  for (const [input, expected] of table) {
    assert.deepEqual(errorsOf(input), expected, JSON.stringify(input));
  }
}
