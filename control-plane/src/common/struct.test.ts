// Struct ⇄ JSON conversions round-trip through the real protobuf encoding.
import { expect } from 'chai';
import { loadAdminProto } from '../api/admin-proto.ts';
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

  it('keeps a "__proto__" key as data: never the prototype other keys fall back to', () => {
    const hostile = JSON.parse('{"__proto__": {"kind": "Route", "spec": {"admin": true}}, "a": 1}') as Record<
      string,
      unknown
    >;
    const back = fromStruct(toStruct(hostile));
    expect(Object.getPrototypeOf(back)).to.equal(Object.prototype);
    expect(Object.keys(back)).to.deep.equal(['__proto__', 'a']);
    expect(back['kind']).to.equal(undefined);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).to.deep.equal({
      kind: 'Route',
      spec: { admin: true },
    });
  });

  it('drops undefined keys and treats a missing Struct as empty', () => {
    expect(fromStruct(toStruct({ a: undefined, b: 1 }))).to.deep.equal({ b: 1 });
    expect(fromStruct(null)).to.deep.equal({});
  });
});
