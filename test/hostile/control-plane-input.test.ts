// Hostile input to the control plane beside a legitimate load through the mesh: oversized xDS node metadata on many
// ADS streams, and oversized operator input (huge labels). Both are refused, memory stays bounded, the mesh converges.
import type * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { AdminClient } from '../../control-plane/src/api/client.ts';
import type { ResourceMessage } from '../../control-plane/src/api/messages.ts';
import { toStruct } from '../../control-plane/src/common/struct.ts';
import { DeltaClient } from '../helpers/ads-client.ts';
import { inBatches, underAttack } from './attack.ts';
import { get, type HostileMesh, startHostileMesh, until } from './hostile-mesh.ts';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** A Route on web that rewrites /conv/ to /<tag>/: seen at the app once the client sidecar has it. */
function convergenceRoute(tag: string): string {
  return `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - match: [{ pathPrefix: /conv/ }]
      rewrite: { pathPrefix: /${tag}/ }
      route: [{ service: web }]
    - route: [{ service: web }]
`;
}

describe('hostile: oversized input to the control plane', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  /** Applies a route and waits until the client sidecar routes by it: the control plane still serves config. */
  const converges = async (tag: string): Promise<void> => {
    await mesh.apply(convergenceRoute(tag));
    await until(async () => {
      await get(mesh.client.outboundPort, 'web:8080', `/conv/${tag}`);
      return mesh.web.paths.includes(`/${tag}/${tag}`);
    }, `route ${tag} applied through the mesh`);
  };

  it('40 ADS streams with 3.5 MB of node metadata each: refused, control plane memory bounded, config still flows', async () => {
    const big = 'm'.repeat(3.5 * 1024 * 1024);
    const statuses: string[] = [];
    await underAttack(
      mesh,
      {
        name: 'xDS node metadata 40 x 3.5 MB',
        target: mesh.client,
        rssOf: { pid: mesh.cp.daemon.child.pid as number, name: 'control plane' },
        detail: () => statuses.join(', '),
      },
      async () => {
        await inBatches(40, 8, async (i) => {
          const client = new DeltaClient(mesh.xds, { id: `hostile-${i}`, metadata: { junk: big } });
          try {
            client.send({ type_url: CDS });
            const status = await Promise.race([
              client.status,
              new Promise<grpc.StatusObject | undefined>((r) => setTimeout(() => r(undefined), 5_000)),
            ]);
            statuses.push(status === undefined ? 'open after 5 s' : `${status.code}`);
          } finally {
            client.close();
          }
        });
      },
    );
    // 3 = INVALID_ARGUMENT (node or metadata over its bound), 8 = RESOURCE_EXHAUSTED (request over its bound).
    for (const s of statuses) expect(['3', '8'], `stream statuses: ${statuses.join(', ')}`).to.include(s);
    await converges('after-metadata');
  });

  it('huge labels sent straight to the operator API: refused promptly naming the problem, listing keeps working', async () => {
    const api = new AdminClient(mesh.cp.api, { timeoutMs: 15_000 });
    const outcomes: { what: string; ms: number; code: number | undefined; details: string }[] = [];
    const cpPid = mesh.cp.daemon.child.pid as number;
    const service = (name: string, labels: Record<string, string>): ResourceMessage => ({
      api_version: 'trellis.dev/v1',
      kind: 'Service',
      metadata: { name, labels, generation: 0, created_at: '', updated_at: '' },
      spec: toStruct({ ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
    });
    try {
      await underAttack(
        mesh,
        {
          name: 'operator API labels (1 MiB, 3.9 MB, 2 x 2.5 MB, 50,000 labels)',
          target: mesh.client,
          rssOf: { pid: cpPid, name: 'control plane' },
          detail: () => JSON.stringify(outcomes),
        },
        async () => {
          const attacks: [string, ResourceMessage][] = [
            ['a 1 MiB label value', service('huge-label', { big: 'v'.repeat(1024 * 1024) })],
            ['a 3.9 MB label value', service('huger-label', { big: 'v'.repeat(3.9 * 1000 * 1000) })],
            [
              'two 2.5 MB label values',
              service('huge-labels', { a: 'v'.repeat(2.5 * 1024 * 1024), b: 'w'.repeat(2.5 * 1024 * 1024) }),
            ],
            [
              '50,000 labels',
              service('many-labels', Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'v']))),
            ],
          ];
          for (const [what, resource] of attacks) {
            const start = Date.now();
            try {
              await api.apply({ resources: [resource], dry_run: false });
              outcomes.push({ what, ms: Date.now() - start, code: 0, details: 'accepted' });
            } catch (err) {
              const e = err as grpc.ServiceError;
              outcomes.push({ what, ms: Date.now() - start, code: e.code, details: e.details.slice(0, 300) });
            }
          }
        },
      );
      for (const o of outcomes) {
        expect(o.code, `${o.what}: ${o.details}`).to.not.equal(0);
        expect(o.ms, `${o.what} answered within`).to.be.below(5_000);
      }
      expect(outcomes[0]?.details).to.match(/labels/);
      const listed = await api.listAll('Service');
      expect(listed.resources.map((r) => r.metadata?.name).sort()).to.deep.equal(['client', 'web']);
    } finally {
      api.close();
    }
    const list = await mesh.ctl(['get', 'services']);
    expect(list.code, list.stderr).to.equal(0);
    await converges('after-labels');
  });
});
