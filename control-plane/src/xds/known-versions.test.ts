// KnownVersions against a plain Map: random responses (updates, removals) and direct edits give the same versions,
// and a client that holds exactly a snapshot's resources shares the snapshot's map.
import { expect } from 'chai';
import fc from 'fast-check';
import { versionOfPairs, versionOfResources } from '../cache/hash.ts';
import type { XdsResource } from '../cache/snapshot.ts';
import { KnownVersions } from './known-versions.ts';

function resource(name: string, version: string): XdsResource {
  return { name, version, typeUrl: 't', value: new Uint8Array(), object: {} };
}

/** A snapshot's resources of one type: names n0..n4, each at version v0..v2 or absent. */
const availableArb = fc.array(fc.option(fc.nat(2), { nil: undefined }), { minLength: 5, maxLength: 5 }).map((vs) => {
  const m = new Map<string, XdsResource>();
  vs.forEach((v, i) => {
    if (v !== undefined) m.set(`n${i}`, resource(`n${i}`, `v${v}`));
  });
  return m;
});

type Step =
  | { kind: 'respond'; available: Map<string, XdsResource>; leaveOut: 'none' | 'update' | 'removal' }
  | { kind: 'set'; name: number; version: number }
  | { kind: 'delete'; name: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('respond' as const),
    available: availableArb,
    leaveOut: fc.constantFrom('none' as const, 'update' as const, 'removal' as const),
  }),
  fc.record({ kind: fc.constant('set' as const), name: fc.nat(5), version: fc.nat(2) }),
  fc.record({ kind: fc.constant('delete' as const), name: fc.nat(5) }),
);

describe('KnownVersions', () => {
  it('agrees with a plain map, and shares a snapshot map exactly when it holds all of it', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), (steps) => {
        const known = new KnownVersions();
        const model = new Map<string, string>();
        for (const step of steps) {
          if (step.kind === 'set') {
            known.set(`n${step.name}`, `v${step.version}`);
            model.set(`n${step.name}`, `v${step.version}`);
          } else if (step.kind === 'delete') {
            known.delete(`n${step.name}`);
            model.delete(`n${step.name}`);
          } else {
            // What the Delta stream sends: every resource whose version differs, every held name that is gone
            // (a partial response leaves one of them out).
            const updates = [...step.available.values()].filter((r) => model.get(r.name) !== r.version);
            const removals = [...model.keys()].filter((n) => !step.available.has(n));
            if (step.leaveOut === 'update') updates.pop();
            if (step.leaveOut === 'removal') removals.pop();
            known.apply(updates, removals, step.available, versionOfResources(step.available));
            for (const r of updates) model.set(r.name, r.version);
            for (const n of removals) model.delete(n);
            const exact =
              model.size === step.available.size && [...step.available].every(([n, r]) => model.get(n) === r.version);
            if (exact) expect(known.shared, 'holding exactly the snapshot shares its map').to.equal(true);
          }
          expect(known.size).to.equal(model.size);
          expect(known.names().sort()).to.deep.equal([...model.keys()].sort());
          for (let i = 0; i < 6; i++) expect(known.get(`n${i}`)).to.equal(model.get(`n${i}`));
          expect(known.version()).to.equal(versionOfPairs(model));
        }
      }),
      { seed: 11, numRuns: 600 },
    );
  });
});
