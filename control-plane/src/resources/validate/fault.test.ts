// Route rule fault injection validation: a delay and/or an abort, statuses, gRPC code names, percents.
import { expectErrors, ruleErrors } from './testing.ts';

const fault = (f: unknown) => ruleErrors({ fault: f });

describe('validate fault', () => {
  it('accepts a delay, an abort by HTTP or gRPC status (name or code), and percents', () => {
    expectErrors(fault, [
      [{ delay: { fixedDelay: '2s' } }, []],
      [{ abort: { httpStatus: 503, percent: 12.5 } }, []],
      [{ abort: { grpcStatus: 'unavailable' } }, []],
      [{ abort: { grpcStatus: 14, percent: 0 } }, []],
      [{ delay: { fixedDelay: '100ms', percent: 50 }, abort: { httpStatus: 500, percent: 1 } }, []],
    ]);
  });

  it('names the field and what was expected', () => {
    expectErrors(fault, [
      [{}, ['spec.http[0].fault: needs a delay, an abort, or both']],
      [{ delay: {} }, ['spec.http[0].fault.delay.fixedDelay: required, expected a duration such as "2s"']],
      [
        { delay: { fixedDelay: 'soon' } },
        ['spec.http[0].fault.delay.fixedDelay: expected a duration > 0 such as "5s" or "500ms", got "soon"'],
      ],
      [{ delay: { fixedDelay: '600h' } }, ['spec.http[0].fault.delay.fixedDelay: at most 24 days (596h)']],
      [
        { abort: { httpStatus: 700 } },
        ['spec.http[0].fault.abort.httpStatus: expected an integer from 200 to 599, got 700'],
      ],
      [
        { abort: { grpcStatus: 'BROKEN' } },
        [
          'spec.http[0].fault.abort.grpcStatus: expected a gRPC status name such as UNAVAILABLE, or a code 0-16, got "BROKEN"',
        ],
      ],
      [
        { abort: { percent: 5 } },
        ['spec.http[0].fault.abort: expected exactly one of httpStatus|grpcStatus, got none'],
      ],
      [
        { abort: { httpStatus: 503, percent: 101 } },
        ['spec.http[0].fault.abort.percent: expected a number from 0 to 100, got 101'],
      ],
      [
        { slow: true },
        [
          'spec.http[0].fault.slow: unknown field, expected one of delay|abort',
          'spec.http[0].fault: needs a delay, an abort, or both',
        ],
      ],
    ]);
  });
});
