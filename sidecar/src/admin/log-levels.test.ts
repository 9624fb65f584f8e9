// Runtime log levels over the admin port: POST /logging changes the root and every child logger (including children
// created with their own level), per component too; GET lists them; bad levels and components are 400s.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import { AdminServer } from './admin-server.ts';
import { LogLevels, parseLevel } from './log-levels.ts';

describe('admin /logging', () => {
  const lines: { msg: string; component?: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
      done();
    },
  });
  const root = pino({ level: 'info' }, sink);
  const levels = new LogLevels(root);
  const upstream = root.child({ component: 'upstream' });
  const deep = upstream.child({ cluster: 'orders' });
  const quiet = root.child({ component: 'xds' }, { level: 'warn' });
  let admin: AdminServer;
  let base: string;

  before(async () => {
    admin = new AdminServer({
      stats: new Stats(),
      clusters: () => [],
      listeners: () => [],
      configDump: () => ({}),
      state: () => 'LIVE',
      statScopes: () => ({ clusters: [], tcp: [], http: [] }),
      drain: () => undefined,
      logger: root.child({ component: 'admin' }),
      logLevels: levels,
    });
    base = `http://127.0.0.1:${(await admin.listen(0)).port}`;
  });

  after(() => admin.close());

  const post = (query: string) => fetch(`${base}/logging${query}`, { method: 'POST' });

  it('parses pino levels and Envoy aliases', () => {
    expect(parseLevel('DEBUG')).to.equal('debug');
    expect(parseLevel('warning')).to.equal('warn');
    expect(parseLevel('critical')).to.equal('fatal');
    expect(parseLevel('off')).to.equal('silent');
    expect(parseLevel('loud')).to.equal(undefined);
  });

  it('GET lists the root and component levels', async () => {
    const r = await fetch(`${base}/logging`);
    expect(r.status).to.equal(200);
    expect(await r.text()).to.equal('active loggers:\n  root: info\n  admin: info\n  upstream: info\n  xds: warn\n');
  });

  it('POST ?level=debug turns on debug lines in every logger already created', async () => {
    deep.debug('before');
    quiet.info('before');
    const r = await post('?level=debug');
    expect(r.status).to.equal(200);
    expect(await r.text()).to.contain('  root: debug\n');
    deep.debug('deep debug');
    quiet.debug('xds debug');
    root.debug('root debug');
    const later = root.child({ component: 'late' });
    later.debug('late debug');
    await new Promise<void>((resolve) => setImmediate(resolve));
    const msgs = lines.map((l) => l.msg);
    expect(msgs).to.not.include('before');
    expect(msgs).to.include.members(['deep debug', 'xds debug', 'root debug', 'late debug']);
  });

  it('POST ?<component>=level sets one component (and its children) only', async () => {
    const r = await post('?upstream=error');
    expect(r.status).to.equal(200);
    expect(upstream.level).to.equal('error');
    expect(deep.level).to.equal('error');
    expect(quiet.level).to.equal('debug');
    expect(root.level).to.equal('debug');
  });

  it('refuses unknown levels and components with a 400 naming what is allowed', async () => {
    let r = await post('?level=loud');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.equal(
      'level: unknown log level "loud"; expected one of trace, debug, info, warn, error, fatal, silent (or Envoy\'s warning, critical, off)\n',
    );
    r = await post('?nosuch=info');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.match(/^nosuch: no such logger component; expected level or one of .*upstream/);
    r = await post('');
    expect(r.status).to.equal(400);
    expect(root.level).to.equal('debug');
    expect((await fetch(`${base}/logging`, { method: 'PUT' })).status).to.equal(405);
  });
});
