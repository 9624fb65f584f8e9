// TrafficPolicy filters written in TypeScript: compiled at apply time, errors naming the field and the line.
import { expectErrors, policyErrors } from './testing.ts';

const f = (filters: unknown) => policyErrors({ filters });
const OK = 'export default { onRequest(req: FilterRequest) { req.setHeader("x-a", "1"); } };';

describe('validate filters (TypeScript)', () => {
  it('accepts modules that compile and export a hook, with config and a budget', () => {
    expectErrors(f, [
      [[{ name: 'stamp', source: OK }], []],
      [[{ name: 'stamp', source: OK, config: { secret: 'x', n: [1, 2] }, timeout: '20ms' }], []],
    ]);
  });

  it('names the field, the line and what is wrong', () => {
    expectErrors(f, [
      [
        [
          { name: 'Bad_Name', source: OK },
          { name: 'syntax', source: 'export default {\n  onRequest() {\n    return (;\n  }\n};' },
          { name: 'empty', source: 'export default {};' },
          { name: 'slow', source: OK, timeout: '5s' },
          { name: 'slow', source: OK, config: [1] },
        ],
        [
          'spec.filters[0].name: expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters), got "Bad_Name"',
          'spec.filters[1].source: filter syntax: Expression expected (line 3)',
          'spec.filters[2].source: filter empty: the default export has no hook (onRequest, onResponse, onResponseTrailers or onLog)',
          'spec.filters[3].timeout: expected a duration from 1ms to 1000ms such as "50ms", got "5s"',
          'spec.filters[4].name: duplicate filter name slow',
          'spec.filters[4].config: expected a mapping (JSON object), got a list',
        ],
      ],
    ]);
  });

  it('overrides: a match and exactly one of disabled: true or config, each error at its field', () => {
    const over = (overrides: unknown) => [{ name: 'stamp', source: OK, overrides }];
    expectErrors(f, [
      [
        over([
          { match: { pathPrefix: '/health' }, disabled: true },
          { match: { pathExact: '/gold', headers: { 'x-tier': { exact: 'gold' } } }, config: { v: 'gold' } },
        ]),
        [],
      ],
      [
        over([
          { disabled: true },
          { match: { pathPrefix: 'health' }, disabled: true },
          { match: { pathPrefix: '/a' } },
          { match: { pathPrefix: '/b' }, disabled: true, config: {} },
          { match: { pathPrefix: '/c' }, disabled: false },
          { match: { pathPrefix: '/d' }, config: [1] },
          { match: { queryParams: { debug: { present: false } } }, disabled: true },
          { match: { pathPrefix: '/e' }, disabled: true, extra: 1 },
        ]),
        [
          'spec.filters[0].overrides[0].match: required, expected a request match ({pathPrefix|pathExact|pathRegex, headers, …})',
          'spec.filters[0].overrides[1].match.pathPrefix: expected a path starting with "/", got "health"',
          'spec.filters[0].overrides[2]: needs exactly one of `disabled: true` (the filter is off there) or `config` (its config there)',
          'spec.filters[0].overrides[3]: needs exactly one of `disabled: true` (the filter is off there) or `config` (its config there)',
          'spec.filters[0].overrides[4].disabled: only `disabled: true` means something (leave it out otherwise)',
          'spec.filters[0].overrides[5].config: expected a mapping (JSON object), got a list',
          'spec.filters[0].overrides[6].match.queryParams.debug: an absent query parameter cannot be matched (Envoy has no such matcher)',
          'spec.filters[0].overrides[7].extra: unknown field, expected one of match|disabled|config',
        ],
      ],
      [
        over(Array.from({ length: 33 }, (_, i) => ({ match: { pathExact: `/p${i}` }, disabled: true }))),
        ['spec.filters[0].overrides: has 33 entries, at most 32'],
      ],
    ]);
  });
});
