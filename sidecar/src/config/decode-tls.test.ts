// TLS contexts and SDS secrets as the sidecar reads them: the trust bundle inline or from a Secret over ADS (alone or
// combined with SAN matchers), the workload certificate always its own; each refusal names its field.
import { expect } from 'chai';
import { decodeCluster } from './decode-cluster.ts';
import { decodeSecret } from './decode-secret.ts';
import { edsCluster, wire } from './envoy-fixtures.ts';
import type { UpstreamTlsConfig } from './model.ts';

type Obj = Record<string, unknown>;

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n';
const ROOTCA = { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } };
const SAN = { san_type: 'URI', matcher: { exact: 'spiffe://mesh.test/ns/default/sa/web' } };

function cluster(common: Obj): Obj {
  return edsCluster('c', {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'default' }], ...common },
      },
    },
  });
}

function tlsOf(common: Obj): UpstreamTlsConfig | undefined {
  const r = decodeCluster(wire('cluster', cluster(common)), '1');
  if ('error' in r) throw new Error(r.error);
  return r.value.transportSockets?.[0]?.tls;
}

function errorOf(common: Obj): string {
  const r = decodeCluster(wire('cluster', cluster(common)), '1');
  if (!('error' in r)) throw new Error('expected an error');
  return r.error;
}

describe('TLS contexts and SDS secrets', () => {
  it('reads the trust bundle inline, from a Secret over ADS, or combined with SAN matchers', () => {
    const inline = tlsOf({
      validation_context: {
        trusted_ca: { inline_bytes: Buffer.from(PEM).toString('base64') },
        match_typed_subject_alt_names: [SAN],
      },
    });
    expect(inline).to.deep.include({ trust: { inline: PEM }, sans: [{ exact: SAN.matcher.exact }] });
    expect(tlsOf({ validation_context_sds_secret_config: ROOTCA })).to.deep.include({
      trust: { secret: 'ROOTCA' },
      sans: [],
    });
    const combined = tlsOf({
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: [SAN] },
        validation_context_sds_secret_config: ROOTCA,
      },
    });
    expect(combined).to.deep.include({ trust: { secret: 'ROOTCA' }, sans: [{ exact: SAN.matcher.exact }] });
  });

  it('refuses what it cannot honour, naming the field', () => {
    const base = 'transport_socket.typed_config.common_tls_context';
    expect(errorOf({})).to.contain(`${base}: expected one of validation_context`);
    expect(
      errorOf({
        validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { path_config_source: { path: '/x' } } },
      }),
    ).to.contain(`${base}.validation_context_sds_secret_config.sds_config: the sidecar reads secrets over ADS only`);
    expect(
      errorOf({
        combined_validation_context: {
          default_validation_context: { trusted_ca: { inline_string: PEM } },
          validation_context_sds_secret_config: ROOTCA,
        },
      }),
    ).to.contain(`${base}.combined_validation_context.default_validation_context.trusted_ca: not supported`);
    const r = decodeCluster(
      wire(
        'cluster',
        cluster({ validation_context_sds_secret_config: ROOTCA, tls_certificate_sds_secret_configs: [ROOTCA] }),
      ),
      '1',
    );
    expect(r).to.have.property('error').that.contains(`${base}.tls_certificate_sds_secret_configs`);
    const own = decodeCluster(
      wire(
        'cluster',
        cluster({
          validation_context_sds_secret_config: ROOTCA,
          tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }],
        }),
      ),
      '1',
    );
    expect(own)
      .to.have.property('error')
      .that.contains(
        `${base}.tls_certificate_sds_secret_configs[0].sds_config: the workload certificate is the sidecar's own`,
      );
    expect(errorOf({ validation_context: { trusted_ca: { inline_string: 'not a certificate' } } })).to.contain(
      `${base}.validation_context.trusted_ca: holds no PEM certificate`,
    );
  });

  it('a Secret is a trust bundle; certificates, keys and SAN matchers in a secret are refused', () => {
    const ok = decodeSecret(
      wire('secret', {
        name: 'ROOTCA',
        validation_context: { trusted_ca: { inline_bytes: Buffer.from(PEM).toString('base64') } },
      }),
      '1',
    );
    expect(ok).to.deep.equal({ value: { name: 'ROOTCA', trustedCa: PEM } });
    const withCert = decodeSecret(
      wire('secret', { name: 'default', tls_certificate: { certificate_chain: { inline_string: PEM } } }),
      '1',
    );
    expect(withCert).to.deep.equal({
      error:
        'secret default: tls_certificate: the sidecar takes trust bundles only over SDS (its certificate and key are its own)',
    });
    const withSans = decodeSecret(
      wire('secret', {
        name: 'ROOTCA',
        validation_context: { trusted_ca: { inline_string: PEM }, match_typed_subject_alt_names: [SAN] },
      }),
      '1',
    );
    expect(withSans)
      .to.have.property('error')
      .that.contains('validation_context.match_typed_subject_alt_names: only trusted_ca');
    expect(decodeSecret(wire('secret', { name: 'ROOTCA' }), '1'))
      .to.have.property('error')
      .that.contains('validation_context');
  });
});
