// Gateway validation: servers by port and protocol, certificates from absolute paths with distinct SNI names, the
// redirect only on HTTP, HSTS only on HTTPS; each error names its field.
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function errors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'Gateway', metadata: { name: 'edge' }, spec };
  const prefix = 'document 1 (Gateway edge): ';
  return validateResource(doc, 'document 1').errors.map((e) => e.slice(prefix.length));
}

const cert = (hosts?: string[]) => ({ ...(hosts ? { hosts } : {}), certFile: '/etc/c.pem', keyFile: '/etc/k.pem' });

describe('validate Gateway', () => {
  it('accepts HTTPS and HTTP servers', () => {
    expectErrors(errors, [
      [
        {
          servers: [
            {
              port: 443,
              protocol: 'HTTPS',
              hosts: ['shop.example.com', '*.example.com'],
              tls: { certificates: [cert(['shop.example.com']), cert()], minVersion: 'TLSv1_3' },
              hsts: { maxAge: '8760h', includeSubDomains: true },
            },
            { port: 80, protocol: 'HTTP', hosts: ['*'], httpsRedirect: true },
          ],
          rateLimit: { perClient: { requestsPerUnit: 10, unit: 'second' } },
        },
        [],
      ],
    ]);
  });

  it('refuses bad servers by field', () => {
    expectErrors(errors, [
      [{}, ['spec.servers: required, expected a list of { port, protocol, hosts, … }']],
      [
        { servers: [{ port: 443, protocol: 'HTTPS', hosts: ['a'] }] },
        ['spec.servers[0].tls: required, expected { certificates: [{ hosts, certFile, keyFile }] }'],
      ],
      [
        { servers: [{ port: 443, protocol: 'HTTPS', hosts: ['a'], tls: { certificates: [cert(), cert()] } }] },
        ['spec.servers[0].tls.certificates[1]: only one certificate per port may leave hosts out (the default)'],
      ],
      [
        {
          servers: [
            {
              port: 443,
              protocol: 'HTTPS',
              hosts: ['a'],
              tls: { certificates: [{ certFile: 'c.pem', keyFile: '/k' }], minVersion: 'TLSv1_1' },
            },
          ],
        },
        [
          'spec.servers[0].tls.minVersion: expected one of TLSv1_2|TLSv1_3, got "TLSv1_1"',
          'spec.servers[0].tls.certificates[0].certFile: expected an absolute path, got "c.pem"',
        ],
      ],
      [
        { servers: [{ port: 80, protocol: 'HTTP', hosts: ['*'], hsts: { maxAge: '1h' } }] },
        ['spec.servers[0].hsts: only for HTTPS servers (browsers ignore it over HTTP)'],
      ],
      [
        {
          servers: [
            { port: 80, protocol: 'HTTP', hosts: ['*'] },
            { port: 80, protocol: 'HTTPS', hosts: ['a'], tls: { certificates: [cert()] } },
          ],
        },
        ['spec.servers[1].protocol: port 80 is already HTTP'],
      ],
      [
        {
          servers: [
            { port: 443, protocol: 'HTTPS', hosts: ['a'], tls: { certificates: [cert(['a'])], minVersion: 'TLSv1_3' } },
            {
              port: 443,
              protocol: 'HTTPS',
              hosts: ['b'],
              tls: { certificates: [cert(['a']), cert()], minVersion: 'TLSv1_2' },
            },
          ],
        },
        [
          'spec.servers[1].tls.minVersion: TLSv1_2 differs from TLSv1_3 at spec.servers[0].tls.minVersion (one TLS listener per port)',
          'spec.servers[1].tls.certificates[0].hosts: host a has two certificates on this port',
        ],
      ],
    ]);
  });
});
