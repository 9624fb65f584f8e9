// LogLimiter: first lines of a kind logged, then one summary line per interval with the count suppressed.
import { expect } from 'chai';
import { pino } from 'pino';
import { LogLimiter } from './log-limiter.ts';

type Line = Record<string, unknown> & { msg: string };

/** A logger capturing lines, a limiter whose intervals end when the test says so. */
function setup(burst = 3) {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  const timers: (() => void)[] = [];
  const limiter = new LogLimiter({
    burst,
    intervalMs: 1000,
    schedule: (fn) => {
      timers.push(fn);
      return () => {
        const i = timers.indexOf(fn);
        if (i >= 0) timers.splice(i, 1);
      };
    },
  });
  /** Ends the current interval of every kind. */
  const tick = () => {
    for (const fn of timers.splice(0)) fn();
  };
  return { lines, logger, limiter, tick, timers };
}

describe('LogLimiter', () => {
  it('logs the first lines of a kind, then one summary per interval with the count and the last fields', () => {
    const { lines, logger, limiter, tick } = setup();
    for (let i = 0; i < 5000; i++) limiter.warn(logger, { n: i }, 'unknown type URL');
    expect(lines.map((l) => l['n'])).to.deep.equal([0, 1, 2]);
    tick();
    expect(lines).to.have.length(4);
    expect(lines[3]).to.include({ msg: 'unknown type URL', n: 4999, suppressed: 4997, intervalMs: 1000 });
  });

  it('keeps summarizing while a kind repeats, and logs again after a quiet interval', () => {
    const { lines, logger, limiter, tick, timers } = setup(2);
    for (let i = 0; i < 10; i++) limiter.warn(logger, {}, 'a');
    tick();
    for (let i = 0; i < 10; i++) limiter.warn(logger, {}, 'a');
    tick();
    expect(lines.map((l) => l['suppressed'] ?? '-')).to.deep.equal(['-', '-', 8, 10]);
    tick(); // quiet: the kind is forgotten
    expect(timers).to.have.length(0);
    limiter.warn(logger, {}, 'a');
    expect(lines).to.have.length(5);
    expect(lines[4]).to.not.have.property('suppressed');
  });

  it('limits each kind on its own and owes no summary for a kind under the burst', () => {
    const { lines, logger, limiter, tick, timers } = setup(1);
    limiter.warn(logger, {}, 'a');
    limiter.warn(logger, {}, 'b');
    limiter.warn(logger, {}, 'b');
    tick();
    expect(lines.map((l) => `${l.msg}${l['suppressed'] ?? ''}`)).to.deep.equal(['a', 'b', 'b1']);
    tick();
    expect(timers).to.have.length(0);
  });

  it('writes owed summaries on close and stops its timers', () => {
    const { lines, logger, limiter, timers } = setup(1);
    limiter.log('error', logger, {}, 'a');
    limiter.log('error', logger, {}, 'a');
    limiter.close();
    expect(lines.map((l) => [l['level'], l['suppressed'] ?? 0])).to.deep.equal([
      [50, 0],
      [50, 1],
    ]);
    expect(timers).to.have.length(0);
  });
});
