// The sidecar's xDS channel takes a configuration larger than gRPC's default 4 MiB receive limit: a load
// assignment of 200,000 endpoints from a real XdsServer over a real stream on 127.0.0.1.
import { expect } from 'chai';
import pino from 'pino';
import { Snapshot } from '../control-plane/src/cache/snapshot.ts';
import { SnapshotCache } from '../control-plane/src/cache/snapshot-cache.ts';
import { XdsServer } from '../control-plane/src/xds/server.ts';
import { adsChannel, type DeltaResponse, nodeMessage, openAdsCall } from '../sidecar/src/xds/ads-call.ts';

const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

function bigAssignment(endpoints: number): Record<string, unknown> {
  return {
    cluster_name: 'big|8080',
    endpoints: [
      {
        lb_endpoints: Array.from({ length: endpoints }, (_, i) => ({
          endpoint: {
            address: {
              socket_address: { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port_value: 8080 },
            },
          },
        })),
      },
    ],
  };
}

describe('sidecar xDS channel: a large configuration', () => {
  it('receives a ClusterLoadAssignment of more than 4 MiB', async () => {
    const cache = new SnapshotCache({ groupOf: () => 'g' });
    const server = new XdsServer({ cache, logger: pino({ level: 'silent' }) });
    const port = await server.listen('127.0.0.1', 0);
    const client = adsChannel(`127.0.0.1:${port}`);
    try {
      const snapshot = Snapshot.fromObjects('1', { endpoint: [bigAssignment(200_000)] });
      const size = snapshot.resources('endpoint').get('big|8080')?.value.length ?? 0;
      expect(size, 'the assignment alone is over 4 MiB').to.be.greaterThan(4 * 1024 * 1024);
      cache.setSnapshot('g', snapshot);
      const call = openAdsCall(client, 'delta');
      const got = new Promise<DeltaResponse>((resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
      });
      call.write({
        node: nodeMessage({ id: 'big', cluster: 'big', metadata: {}, zone: '' }),
        type_url: EDS,
        resource_names_subscribe: ['big|8080'],
      });
      const response = await got;
      expect(response.resources.map((r) => r.name)).to.deep.equal(['big|8080']);
      call.cancel();
    } finally {
      client.close();
      await server.close(0);
    }
  });
});
