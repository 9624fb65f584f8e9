// ResourceStore: whole-response validation, identity of unchanged resources, references, completeness, removal.
import { anyOf, TYPE_URLS, type XdsTypeKey } from '@trellis/xds-protos';
import { expect } from 'chai';
import {
  edsCluster,
  hcm,
  loadAssignment,
  routeConfiguration,
  socketListener,
  TCP_PROXY,
} from '../config/envoy-fixtures.ts';
import { ResourceStore, type ResourceType } from './resource-store.ts';

type Obj = Record<string, unknown>;

function sotw(type: ResourceType, version: string, objects: Obj[], full = type === 'listener' || type === 'cluster') {
  return {
    type,
    resources: objects.map((o) => ({ version, any: anyOf(TYPE_URLS[type as XdsTypeKey], o) })),
    removed: [],
    fullState: full,
    versionInfo: version,
  };
}

const listener = (name: string, route: string, port = 15001): Obj =>
  socketListener(name, hcm(route), { address: { socket_address: { address: '127.0.0.1', port_value: port } } });

describe('ResourceStore', () => {
  it('is complete once listeners, clusters and everything they reference arrived', () => {
    const store = new ResourceStore();
    expect(store.missing()).to.deep.equal(['listeners', 'clusters']);
    store.apply(sotw('cluster', '1', [edsCluster('a|1')]));
    store.apply(sotw('listener', '1', [listener('outbound', 'outbound')]));
    expect(store.missing()).to.deep.equal(['route configuration outbound', 'cluster load assignment a|1']);
    expect([...store.references().routes]).to.deep.equal(['outbound']);
    store.apply(sotw('endpoint', '1', [loadAssignment('a|1', '10.0.0.1:80')]));
    store.apply(
      sotw('route', '1', [routeConfiguration('outbound', [{ match: { prefix: '/' }, route: { cluster: 'a|1' } }])]),
    );
    expect(store.missing()).to.deep.equal([]);
    const config = store.build();
    expect([...config.listeners.keys()]).to.deep.equal(['outbound']);
    expect(config.endpoints.get('a|1')?.localities[0]?.endpoints[0]?.address).to.equal('10.0.0.1');
  });

  it('exports its accepted resources as bytes that another store (a worker thread) rebuilds the same config from', () => {
    const main = new ResourceStore();
    main.apply(sotw('cluster', '1', [edsCluster('a|1')]));
    main.apply(sotw('listener', '1', [listener('outbound', 'outbound')]));
    main.apply(sotw('endpoint', '1', [loadAssignment('a|1', '10.0.0.1:80')]));
    main.apply(
      sotw('route', '1', [routeConfiguration('outbound', [{ match: { prefix: '/' }, route: { cluster: 'a|1' } }])]),
    );
    const worker = new ResourceStore();
    expect(worker.importAll(structuredClone(main.exportAll()))).to.equal(undefined);
    const config = worker.build();
    expect([...config.listeners.keys()]).to.deep.equal(['outbound']);
    expect(config.endpoints.get('a|1')?.localities[0]?.endpoints[0]?.address).to.equal('10.0.0.1');
    expect(worker.versionInfo('route')).to.equal('1');
    // The next change: what did not change keeps its decoded objects; what is gone is gone.
    main.apply(sotw('endpoint', '2', [loadAssignment('a|1', '10.0.0.2:80')]));
    main.apply(sotw('cluster', '2', [edsCluster('a|1')]));
    worker.importAll(structuredClone(main.exportAll()));
    const next = worker.build();
    expect(next.listeners.get('outbound')).to.equal(config.listeners.get('outbound'));
    expect(next.endpoints.get('a|1')?.localities[0]?.endpoints[0]?.address).to.equal('10.0.0.2');
  });

  it('rejects a whole response when one resource is bad, keeping the previous state and version', () => {
    const store = new ResourceStore();
    store.apply(sotw('listener', 'v1', [listener('a', 'r')]));
    const before = store.build();
    const bad = socketListener('b', { '@type': TCP_PROXY, stat_prefix: 's' }, {});
    const r = store.apply(sotw('listener', 'v2', [listener('a', 'r2'), bad]));
    expect(r)
      .to.have.property('error')
      .that.matches(/^listener b: .*typed_config\.cluster: is required/);
    expect(store.versionInfo('listener')).to.equal('v1');
    expect(store.build()).to.equal(before);
    expect(store.build().listeners.get('a')?.filter).to.deep.include({ type: 'http' });
  });

  it('rejects listeners binding the same address', () => {
    const store = new ResourceStore();
    const r = store.apply(sotw('listener', '1', [listener('a', 'r', 15001), listener('b', 'r', 15001)]));
    expect(r).to.have.property('error', 'listener b: address 127.0.0.1:15001 clashes with listener a');
  });

  it('keeps decoded objects of unchanged resources (the data path compares by identity)', () => {
    const store = new ResourceStore();
    store.apply(sotw('cluster', '1', [edsCluster('a|1'), edsCluster('b|1')]));
    const first = store.build();
    const r = store.apply(sotw('cluster', '2', [edsCluster('a|1'), edsCluster('b|1', { lb_policy: 'RANDOM' })]));
    expect(r).to.deep.equal({ changed: true });
    const second = store.build();
    expect(second).to.not.equal(first);
    expect(second.clusters.get('a|1')).to.equal(first.clusters.get('a|1'));
    expect(second.clusters.get('b|1')?.lbPolicy).to.equal('RANDOM');
    expect(
      store.apply(sotw('cluster', '3', [edsCluster('a|1'), edsCluster('b|1', { lb_policy: 'RANDOM' })])),
    ).to.deep.equal({
      changed: false,
    });
    expect(store.build()).to.equal(second);
  });

  it('SotW LDS/CDS responses are the whole set; RDS/EDS ones add to what is held', () => {
    const store = new ResourceStore();
    store.apply(sotw('cluster', '1', [edsCluster('a|1'), edsCluster('b|1')]));
    store.apply(sotw('cluster', '2', [edsCluster('b|1')]));
    expect([...store.build().clusters.keys()]).to.deep.equal(['b|1']);
    store.apply({
      ...sotw('endpoint', '1', [loadAssignment('a|1'), loadAssignment('b|1')]),
      subscribed: new Set(['a|1']),
    });
    store.apply(sotw('endpoint', '2', [loadAssignment('c|1')]));
    expect([...store.build().endpoints.keys()]).to.deep.equal(['a|1', 'c|1']);
  });

  it('Delta: applies removals, counts removed referenced names as known-absent, and forgets unreferenced ones', () => {
    const store = new ResourceStore();
    store.apply(sotw('cluster', '1', [edsCluster('a|1')]));
    store.apply(sotw('listener', '1', []));
    expect(store.missing()).to.deep.equal(['cluster load assignment a|1']);
    store.apply({ type: 'endpoint', resources: [], removed: ['a|1'], fullState: false, versionInfo: '2' });
    expect(store.missing()).to.deep.equal([]);
    store.apply({
      type: 'endpoint',
      resources: [{ name: 'a|1', version: 'x', any: anyOf(TYPE_URLS.endpoint, loadAssignment('a|1')) }],
      removed: [],
      fullState: false,
      versionInfo: '3',
    });
    expect(store.versions('endpoint')).to.deep.equal({ 'a|1': 'x' });
    store.retain('endpoint', new Set());
    expect(store.versions('endpoint')).to.deep.equal({});
  });

  it('follows the trust bundle secret the TLS contexts read over SDS: waits for it, swaps it without touching them', () => {
    const pem = (n: string) => `-----BEGIN CERTIFICATE-----\nMII${n}\n-----END CERTIFICATE-----\n`;
    const secret = (n: string) => ({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pem(n) } } });
    const tls = edsCluster('a|1', {
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'default' }],
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
          },
        },
      },
    });
    const store = new ResourceStore();
    store.apply(sotw('cluster', '1', [tls]));
    store.apply(sotw('listener', '1', []));
    store.apply(sotw('endpoint', '1', [loadAssignment('a|1')]));
    expect([...store.references().secrets]).to.deep.equal(['ROOTCA']);
    expect(store.missing()).to.deep.equal(['secret ROOTCA']);
    store.apply({ ...sotw('secret', '1', [secret('A')]), subscribed: new Set(['ROOTCA']) });
    expect(store.missing()).to.deep.equal([]);
    const first = store.build();
    expect(first.secrets.get('ROOTCA')?.trustedCa).to.equal(pem('A'));
    expect(store.apply({ ...sotw('secret', '2', [secret('B')]), subscribed: new Set(['ROOTCA']) })).to.deep.equal({
      changed: true,
    });
    const second = store.build();
    expect(second.secrets.get('ROOTCA')?.trustedCa).to.equal(pem('B'));
    expect(second.clusters.get('a|1')).to.equal(first.clusters.get('a|1'));
    // No cluster reads it any more: forgotten.
    store.apply(sotw('cluster', '2', []));
    store.retain('secret', store.references().secrets);
    expect(store.build().secrets.size).to.equal(0);
  });

  it('rejects a Delta resource whose name differs from its body', () => {
    const store = new ResourceStore();
    const r = store.apply({
      type: 'cluster',
      resources: [{ name: 'x', version: '1', any: anyOf(TYPE_URLS.cluster, edsCluster('y')) }],
      removed: [],
      fullState: false,
      versionInfo: '1',
    });
    expect(r)
      .to.have.property('error')
      .that.matches(/named "x" but carries cluster "y"/);
  });

  it('dumps each type with versions and the resources as received', () => {
    const store = new ResourceStore();
    store.apply(sotw('cluster', '7', [edsCluster('a|1')]));
    const [cds] = store.dump() as { typeUrl: string; version: string; resources: { name: string; resource: Obj }[] }[];
    expect(cds?.typeUrl).to.equal(TYPE_URLS.cluster);
    expect(cds?.version).to.equal('7');
    expect(cds?.resources[0]?.resource['name']).to.equal('a|1');
  });
});
