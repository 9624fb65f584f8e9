// TypeScript filters from the wire: a TypedStruct carrying the module (compiled while decoding: a bad one is a NACK
// naming the line) and a route's TypedStruct override.

import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { httpFilters, perFilterConfigs } from './decode-http-filters.ts';
import { TYPESCRIPT_FILTER_PER_ROUTE_TYPE, TYPESCRIPT_FILTER_TYPE } from './model.ts';

const ROUTER = { name: 'router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } };
const TS = typeUrl(EXTENSION_TYPES.typedStruct);

/** A flat Struct (string, number and bool values). */
function struct(values: Record<string, string | number | boolean>) {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values))
    fields[k] =
      typeof v === 'string' ? { stringValue: v } : typeof v === 'number' ? { numberValue: v } : { boolValue: v };
  return { fields };
}

/** A TypedStruct as the sidecar receives it (encoded and decoded). */
function typedStruct(type: string, values: Record<string, string | number | boolean>) {
  const config = { type_url: typeUrl(type), value: struct(values) };
  return { '@type': TS, ...decodeAny(anyOf(TS, config)) };
}

describe('TypeScript filter decoding', () => {
  it('decodes the module from its TypedStruct and compiles it; a bad one is a NACK naming the line', () => {
    const source = 'export default { onRequest(req: FilterRequest) { req.setHeader("x-a", "1"); } };';
    const [f] = httpFilters(
      [
        {
          name: 'ts',
          typed_config: typedStruct(EXTENSION_TYPES.typescriptFilter, { name: 'stamp', source, timeout_ms: 20 }),
        },
        ROUTER,
      ],
      'f',
    );
    expect(f).to.deep.include({ name: 'ts', typeName: TYPESCRIPT_FILTER_TYPE });
    expect(f?.config).to.deep.include({ name: 'stamp', source, timeoutMs: 20 });
    const broken = typedStruct(EXTENSION_TYPES.typescriptFilter, {
      name: 'broken',
      source: 'export default {\n  onRequest( {\n};',
    });
    expect(() => httpFilters([{ name: 'ts', typed_config: broken }, ROUTER], 'f')).to.throw(
      /f\[0\]\.typed_config\.value\.source: filter broken: .*\(line \d\)/,
    );
    const badName = typedStruct(EXTENSION_TYPES.typescriptFilter, { name: 'Bad Name', source });
    expect(() => httpFilters([{ name: 'ts', typed_config: badName }, ROUTER], 'f')).to.throw(
      'f[0].typed_config.value.name: expected a DNS-1123 label',
    );
  });

  it("decodes a route's override from its TypedStruct", () => {
    expect(
      perFilterConfigs({ ts: typedStruct(EXTENSION_TYPES.typescriptFilterPerRoute, { disabled: true }) }, 'r'),
    ).to.deep.equal({ ts: { typeName: TYPESCRIPT_FILTER_PER_ROUTE_TYPE, config: { disabled: true, config: null } } });
  });
});
