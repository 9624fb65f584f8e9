// Snapshot: encoding, stable content versions, and the cross-reference consistency check.
import { TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { apiListener, edsCluster, loadAssignment, mesh, routeConfig, socketListener } from './fixtures.ts';
import { Snapshot } from './snapshot.ts';

describe('Snapshot', () => {
  it('encodes resources by name (cluster_name for load assignments) with short content hashes', () => {
    const snap = Snapshot.fromObjects('v1', mesh({ orders: ['10.0.0.1'] }));
    expect(snap.version).to.equal('v1');
    expect([...snap.resources('cluster').keys()]).to.deep.equal(['orders']);
    expect([...snap.resources('endpoint').keys()]).to.deep.equal(['orders']);
    expect([...snap.resources('listener').keys()]).to.deep.equal(['orders']);
    expect([...snap.resources('route').keys()]).to.deep.equal(['orders-route']);
    expect(snap.resources('secret').size).to.equal(0);
    const cluster = snap.resources('cluster').get('orders')!;
    expect(cluster.typeUrl).to.equal(TYPE_URLS.cluster);
    expect(cluster.version).to.match(/^[0-9a-f]{16}$/);
    expect(cluster.value).to.be.instanceOf(Uint8Array);
    expect(cluster.object['name']).to.equal('orders');
  });

  it('keeps resource and type versions stable for equal content, whatever the order', () => {
    const a = Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'], users: ['10.0.0.2'] }));
    const b = Snapshot.fromObjects('2', mesh({ users: ['10.0.0.2'], orders: ['10.0.0.1'] }));
    for (const type of ['cluster', 'endpoint', 'listener', 'route', 'secret'] as const) {
      expect(a.typeVersion(type), type).to.equal(b.typeVersion(type));
    }
    expect(a.resources('cluster').get('orders')!.version).to.equal(b.resources('cluster').get('orders')!.version);
    expect(a.sameContentAs(b)).to.equal(true);
  });

  it('changes only the versions of what changed', () => {
    const a = Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'], users: ['10.0.0.2'] }));
    const b = Snapshot.fromObjects('2', mesh({ orders: ['10.0.0.9'], users: ['10.0.0.2'] }));
    expect(a.typeVersion('endpoint')).to.not.equal(b.typeVersion('endpoint'));
    expect(a.resources('endpoint').get('orders')!.version).to.not.equal(b.resources('endpoint').get('orders')!.version);
    expect(a.resources('endpoint').get('users')!.version).to.equal(b.resources('endpoint').get('users')!.version);
    for (const type of ['cluster', 'listener', 'route'] as const) {
      expect(a.typeVersion(type), type).to.equal(b.typeVersion(type));
    }
    expect(a.sameContentAs(b)).to.equal(false);
  });

  it('rejects nameless, duplicate and malformed resources, naming the type and index', () => {
    expect(() => Snapshot.fromObjects('1', { cluster: [{ type: 'EDS' }] })).to.throw(/cluster\[0\]: missing name/);
    expect(() => Snapshot.fromObjects('1', { endpoint: [{ endpoints: [] }] })).to.throw(
      /endpoint\[0\]: missing cluster_name/,
    );
    expect(() => Snapshot.fromObjects('1', { cluster: [edsCluster('a'), edsCluster('a')] })).to.throw(
      /cluster\[1\]: duplicate name "a"/,
    );
    expect(() => Snapshot.fromObjects('1', { cluster: [{ name: 'a', lb_policy: 'FASTEST' }] })).to.throw(/lb_policy/);
  });

  describe('consistent()', () => {
    it('accepts a mesh whose references all resolve', () => {
      expect(Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'], users: [] })).consistent()).to.deep.equal([]);
    });

    it('reports a route configuration an api_listener references but the snapshot lacks', () => {
      const snap = Snapshot.fromObjects('1', { listener: [apiListener('orders', 'missing-route')] });
      expect(snap.consistent()).to.deep.equal([
        'listener "orders" references route configuration "missing-route", which is not in the snapshot',
      ]);
    });

    it('looks inside filter chains too', () => {
      const snap = Snapshot.fromObjects('1', { listener: [socketListener('outbound', 'outbound-routes')] });
      expect(snap.consistent()).to.have.length(1);
      expect(snap.consistent()[0]).to.contain('"outbound-routes"');
    });

    it('reports EDS clusters without a load assignment, using the cluster name when service_name is empty', () => {
      const snap = Snapshot.fromObjects('1', {
        cluster: [edsCluster('orders', 'orders-v1'), edsCluster('users', ''), { name: 'static', type: 'STATIC' }],
        endpoint: [loadAssignment('orders')],
      });
      expect(snap.consistent()).to.deep.equal([
        'EDS cluster "orders" needs endpoints "orders-v1", which are not in the snapshot',
        'EDS cluster "users" needs endpoints "users", which are not in the snapshot',
      ]);
    });

    it('reports route actions to missing clusters, including weighted clusters and inline route configs', () => {
      const inline = {
        name: 'inline',
        api_listener: {
          api_listener: {
            '@type':
              'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            route_config: routeConfig('inline-rc', 'ghost'),
          },
        },
      };
      const snap = Snapshot.fromObjects('1', {
        cluster: [edsCluster('orders')],
        endpoint: [loadAssignment('orders', '10.0.0.1')],
        listener: [inline],
        route: [routeConfig('split', { orders: 90, 'orders-v2': 10 })],
      });
      expect(snap.consistent()).to.deep.equal([
        'listener "inline" inline route configuration (virtual host "inline-rc") routes to cluster "ghost", which is not in the snapshot',
        'route configuration "split" (virtual host "split") routes to cluster "orders-v2", which is not in the snapshot',
      ]);
    });

    it('reports a secret a transport socket reads over ADS (SDS) that the snapshot lacks', () => {
      const tls = {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'default' }],
            combined_validation_context: {
              default_validation_context: {},
              validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
            },
          },
        },
      };
      const cluster = { name: 'web', type: 'STATIC', transport_socket_matches: [{ name: 'm', transport_socket: tls }] };
      const lacking = Snapshot.fromObjects('1', { cluster: [cluster] });
      expect(lacking.consistent()).to.deep.equal([
        'cluster "web" reads secret "ROOTCA" over ADS, which is not in the snapshot',
      ]);
      const secret = { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: 'x' } } };
      expect(Snapshot.fromObjects('1', { cluster: [cluster], secret: [secret] }).consistent()).to.deep.equal([]);
    });
  });
});
