// The demo's flags: durations, bounds, and errors that name the flag.
import { expect } from 'chai';
import { buildProgram, parseDuration } from './options.ts';

function parse(args: string[]): Record<string, unknown> {
  const program = buildProgram().exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  return program.parse(args, { from: 'user' }).opts();
}

describe('demo options', () => {
  it('parses durations', () => {
    expect(parseDuration('20s')).to.equal(20_000);
    expect(parseDuration('1m30s')).to.equal(90_000);
    expect(parseDuration('500ms')).to.equal(500);
    for (const bad of ['20', '', '0s', '-1s', '2 s', '1x']) expect(() => parseDuration(bad), bad).to.throw(/duration/);
  });

  it('has defaults and refuses out-of-range values naming the flag', () => {
    expect(parse([])).to.include({ json: false, rps: 30 });
    expect(parse(['--duration', '20s', '--json', '--rps', '50', '--base-port', '20000'])).to.deep.include({
      duration: 20_000,
      json: true,
      rps: 50,
      basePort: 20000,
    });
    expect(() => parse(['--rps', '0'])).to.throw(/--rps <n>.*expected an integer from 1 to 500/);
    expect(() => parse(['--base-port', '80'])).to.throw(/--base-port <port>.*expected a port from 1024 to 65000/);
    expect(() => parse(['--duration', 'soon'])).to.throw(/--duration <duration>.*expected a duration/);
  });
});
