// The connection-pool defaults docs/resources.md states are the ones proxies apply: Envoy's circuit-breaker defaults,
// which the sidecar applies to every threshold a TrafficPolicy leaves unset.
import { readFileSync } from 'node:fs';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { encodedCluster } from '../control-plane/src/translator/fixtures.ts';
import { cluster } from '../sidecar/src/config/decode-cluster.ts';
import { DEFAULT_CIRCUIT_BREAKERS } from '../sidecar/src/upstream/circuit-breaker.ts';

const RESOURCES_MD = readFileSync(new URL('../docs/resources.md', import.meta.url), 'utf8');

/** The default column of a field's row in the connection-pool table. */
function documentedDefault(field: string): string {
  const section = RESOURCES_MD.slice(RESOURCES_MD.indexOf('### Connection pool'));
  const row = new RegExp(`^\\|\\s*\`${field}\`\\s*\\|[^|]*\\|\\s*([^|]*?)\\s*\\|`, 'm').exec(section);
  if (!row) throw new Error(`no row for ${field} in the connection-pool table of docs/resources.md`);
  return row[1] as string;
}

/** The circuit breakers a sidecar applies to the cluster translated for this pool. */
function sidecarBreakers(connectionPool: Record<string, unknown> | undefined) {
  const translated = encodedCluster(connectionPool && { connectionPool }, 'sidecar');
  return cluster(decodeAny(anyOf(TYPE_URLS.cluster, translated)), '1').circuitBreakers;
}

describe('connection-pool defaults: docs and sidecar agree', () => {
  const fields = ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries'] as const;

  for (const field of fields) {
    it(`${field}: documented default ${DEFAULT_CIRCUIT_BREAKERS[field]}, applied by the sidecar when unset`, () => {
      expect(documentedDefault(field)).to.match(new RegExp(`^${DEFAULT_CIRCUIT_BREAKERS[field]}\\b`));
      expect(sidecarBreakers(undefined)[field]).to.equal(DEFAULT_CIRCUIT_BREAKERS[field]);
      const other = field === 'maxRequests' ? { maxConnections: 7 } : { maxRequests: 7 };
      expect(sidecarBreakers(other)[field]).to.equal(DEFAULT_CIRCUIT_BREAKERS[field]);
    });
  }

  it('maxRetries is 3, as in Envoy', () => {
    expect(DEFAULT_CIRCUIT_BREAKERS.maxRetries).to.equal(3);
  });
});
