// structToJson: node metadata Structs, decoded by protobufjs, become plain JSON.
import { lookupType } from '@trellis/xds-protos';
import { expect } from 'chai';
import { structToJson, valueToJson } from './struct-json.ts';

describe('structToJson', () => {
  it('converts every Value kind after a protobuf round trip', () => {
    const Struct = lookupType('google.protobuf.Struct');
    const message = Struct.fromObject({
      fields: {
        s: { stringValue: 'sidecar' },
        n: { numberValue: 8080 },
        b: { boolValue: true },
        z: { nullValue: 'NULL_VALUE' },
        o: { structValue: { fields: { version: { stringValue: 'v2' } } } },
        l: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 1 }] } },
      },
    });
    const decoded = Struct.toObject(Struct.decode(Struct.encode(message).finish()), { enums: String, arrays: true });
    expect(structToJson(decoded)).to.deep.equal({
      s: 'sidecar',
      n: 8080,
      b: true,
      z: null,
      o: { version: 'v2' },
      l: ['a', 1],
    });
  });

  it('accepts snake_case kinds and tolerates junk', () => {
    expect(structToJson({ fields: { a: { string_value: 'x' }, b: { bool_value: false } } })).to.deep.equal({
      a: 'x',
      b: false,
    });
    expect(structToJson(undefined)).to.deep.equal({});
    expect(structToJson({ fields: 'nope' })).to.deep.equal({});
    expect(valueToJson(42)).to.equal(null);
    expect(valueToJson({})).to.equal(null);
  });

  it('keeps a client\'s "__proto__" key as data, never as the prototype of the metadata', () => {
    const fields = JSON.parse('{"__proto__": {"structValue": {"fields": {"TRELLIS_WEIGHT": {"stringValue": "128"}}}}}');
    const json = structToJson({ fields });
    expect(Object.getPrototypeOf(json)).to.equal(Object.prototype);
    expect(json['TRELLIS_WEIGHT']).to.equal(undefined);
    expect(Object.keys(json)).to.deep.equal(['__proto__']);
  });
});
