// The scale benchmark cannot rot: `bench/scale.ts` with 5 proxies converges in both ADS modes and prints its JSON.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { run } from './helpers/processes.ts';

const SCRIPT = fileURLToPath(new URL('../bench/scale.ts', import.meta.url));

interface ScaleResult {
  mode: string;
  proxies: number;
  storm: { converged: boolean; full: number; messagesPerProxy: number };
  routeChange: { converged: boolean; latency: { samples: number } };
  endpointJoin: { converged: boolean; latency: { samples: number } };
  endpointLeave: { converged: boolean; latency: { samples: number } };
  resets: number;
}

describe('bench:scale', () => {
  for (const mode of ['delta', 'sotw']) {
    it(`converges with 5 ${mode} proxies and reports it as JSON`, async () => {
      const args = ['--proxies', '5', '--mode', mode, '--services', '3', '--timeout', '8'];
      const res = await run(
        SCRIPT,
        [...args, '--workers', '1', '--route-changes', '1', '--endpoint-changes', '1', '--json-only'],
        '',
        19_000,
      );
      expect(res.code, res.stderr).to.equal(0);
      const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as ScaleResult;
      expect(r).to.include({ mode, proxies: 5, resets: 0 });
      expect(r.storm).to.include({ converged: true, full: 5 });
      expect(r.storm.messagesPerProxy).to.be.greaterThan(0);
      for (const change of [r.routeChange, r.endpointJoin, r.endpointLeave]) {
        expect(change.converged).to.equal(true);
        expect(change.latency.samples).to.equal(5);
      }
    });
  }
});
