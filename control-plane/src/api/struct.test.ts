// Struct ⇄ JSON conversions round-trip through the real protobuf encoding.
import { expect } from 'chai';
import { loadAdminProto } from './admin-proto.ts';
import { fromStruct, type StructMessage, toStruct } from './struct.ts';

describe('Struct conversions', () => {
  const json = {
    s: 'text',
    n: 1.5,
    b: false,
    nil: null,
    list: [1, 'two', { three: [true] }],
    nested: { deeper: { empty: {}, none: [] } },
  };

  it('round-trips JSON in memory', () => {
    expect(fromStruct(toStruct(json))).to.deep.equal(json);
  });

  it('round-trips JSON through protobuf bytes', () => {
    const { service } = loadAdminProto();
    const get = service['Get']!;
    const message = { api_version: 'v', kind: 'k', spec: toStruct(json) };
    const decoded = get.responseDeserialize(get.responseSerialize(message)) as { spec: StructMessage };
    expect(fromStruct(decoded.spec)).to.deep.equal(json);
  });

  it('drops undefined keys and treats a missing Struct as empty', () => {
    expect(fromStruct(toStruct({ a: undefined, b: 1 }))).to.deep.equal({ b: 1 });
    expect(fromStruct(null)).to.deep.equal({});
  });
});
