// compression validation: the codings, the minimum size, the media types.
import { expectErrors, policyErrors } from './testing.ts';

const c = (compression: unknown) => policyErrors({ compression });

describe('validate compression', () => {
  it('accepts the defaults, codings in order, a minimum size and media types', () => {
    expectErrors(c, [
      [{}, []],
      [{ encodings: ['gzip'], minBytes: 0 }, []],
      [{ encodings: ['zstd', 'br', 'gzip'], minBytes: 1024, contentTypes: ['text/html', 'application/wasm'] }, []],
    ]);
  });

  it('names the field and what was expected', () => {
    expectErrors(c, [
      [
        { encodings: ['gzip', 'deflate', 'gzip'], minBytes: -1, contentTypes: ['text/html; charset=utf-8', 7] },
        [
          'spec.compression.encodings[1]: expected one of br|gzip|zstd, got "deflate"',
          'spec.compression.encodings[2]: duplicate encoding gzip',
          'spec.compression.minBytes: expected an integer from 0 to 4294967295, got -1',
          'spec.compression.contentTypes[0]: expected a media type such as text/html, without parameters, got "text/html; charset=utf-8"',
          'spec.compression.contentTypes[1]: expected a media type such as text/html, without parameters, got 7',
        ],
      ],
      [
        { encodings: [], level: 9 },
        [
          'spec.compression.level: unknown field, expected one of encodings|minBytes|contentTypes',
          'spec.compression.encodings: expected a non-empty list of br, gzip, zstd, got a list',
        ],
      ],
    ]);
  });
});
