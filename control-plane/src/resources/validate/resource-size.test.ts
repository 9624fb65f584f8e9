// The bound on one resource's encoded size: the one error, naming the size, the limit and where the bytes are.
import { expect } from 'chai';
import { MAX_RESOURCE_BYTES } from '../../common/limits.ts';
import { resourceEncodedSize } from '../encoded-size.ts';
import { validateResource } from './validate.ts';

const service = (extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: { name: 'orders', labels },
  spec: { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }], ...extra },
});

const endpoints = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80 }));

describe('validate resource size', () => {
  it('refuses a 3.9 MB label with one error naming the size, the limit and the label', () => {
    const { errors } = validateResource(service({}, { big: 'x'.repeat(3_900_000) }), 'document 1');
    expect(errors).to.deep.equal([
      'document 1 (Service orders): the resource encodes to 3900133 bytes (3.7 MiB), at most 262144 (256 KiB) per resource; the largest part is metadata.labels.big (3.7 MiB)',
    ]);
  });

  it('points into lists: many endpoints are too many', () => {
    const { errors } = validateResource(service({ endpoints: endpoints(20_000) }), 'document 1');
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(
      /encodes to \d+ bytes \(\d+(\.\d)? KiB\), at most 262144 \(256 KiB\) per resource; the largest part is spec\.endpoints \(/,
    );
  });

  it('accepts a resource of exactly the bound', () => {
    expect(resourceEncodedSize(service({ endpoints: endpoints(4000) }))).to.be.lessThan(MAX_RESOURCE_BYTES);
    // The longest endpoint list within the bound passes; one more endpoint does not.
    let n = 4000;
    while (resourceEncodedSize(service({ endpoints: endpoints(n + 1) })) <= MAX_RESOURCE_BYTES) n++;
    expect(validateResource(service({ endpoints: endpoints(n) }), 'document 1').errors).to.deep.equal([]);
    expect(validateResource(service({ endpoints: endpoints(n + 1) }), 'document 1').errors).to.have.length(1);
  });

  it('refuses documents nested too deep to measure', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(validateResource(service({ deep }), 'document 1').errors).to.deep.equal([
      'document 1 (Service orders): the resource is nested deeper than 100 levels',
    ]);
  });
});
