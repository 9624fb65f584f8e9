// Operator API tokens: a tokens file is checked entry by entry; calls need a valid token, and read-only tokens may
// only read. Through real gRPC with trellisctl in-process, and the control plane bin refusing an API reachable
// beyond loopback without tokens.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { ApiAuth, tokenHash } from '../control-plane/src/api/api-auth.ts';
import { type ApiServer, startApiServer } from '../control-plane/src/api/server.ts';
import { runCli } from '../control-plane/src/cli/main.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import { BIN, run } from './helpers/processes.ts';

const SERVICE = `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`;

describe('operator API tokens', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-api-auth-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (text: string): string => {
    const p = path.join(dir, 'tokens.yaml');
    writeFileSync(p, text);
    return p;
  };

  it('loads { name, role, sha256 } entries and names what is wrong in a bad one', () => {
    const bad = (text: string) => {
      try {
        ApiAuth.load(file(text));
        return '';
      } catch (err) {
        return (err as Error).message.replace(`${dir}/tokens.yaml: `, '');
      }
    };
    expect(bad(`- { name: ops, role: admin, sha256: ${tokenHash('x')} }`)).to.equal('');
    expect(bad('[]')).to.equal('expected a non-empty list of { name, role, sha256 }');
    expect(bad(`- { name: ops, role: root, sha256: ${tokenHash('x')} }`)).to.equal(
      '[0].role: expected admin|read-only, got "root"',
    );
    expect(bad('- { name: ops, role: admin, sha256: abc }')).to.equal(
      "[0].sha256: expected the token's SHA-256 as 64 lower-case hex digits",
    );
    expect(bad(`- { name: ops, role: admin, sha256: ${tokenHash('x')}, token: x }`)).to.equal(
      '[0].token: unknown field, expected one of name|role|sha256',
    );
  });

  describe('through trellisctl', () => {
    let server: ApiServer;
    let api: string;
    before(async () => {
      const store = new MemoryStore();
      await store.open();
      server = await startApiServer({
        store,
        proxies: { list: () => [], onEvent: () => () => undefined },
        logger: pino({ level: 'silent' }),
        host: '127.0.0.1',
        port: 0,
        auth: new ApiAuth([
          { name: 'ops', role: 'admin', sha256: tokenHash('admin-secret') },
          { name: 'viewer', role: 'read-only', sha256: tokenHash('view-secret') },
        ]),
      });
      api = `127.0.0.1:${server.port}`;
    });
    after(() => server.close());

    async function ctl(args: string[], env: Record<string, string> = {}, stdin = '') {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['--api', api, ...args], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        stdin: Readable.from([stdin]),
        env,
      });
      return { code, stdout, stderr };
    }

    it('no token, a wrong one: UNAUTHENTICATED; read-only: reads but cannot apply; admin: applies', async () => {
      expect(await ctl(['get', 'services'])).to.deep.include({
        code: 1,
        stderr: 'error: this API needs a token: pass --token or set TRELLIS_TOKEN\n',
      });
      expect((await ctl(['--token', 'nope', 'get', 'services'])).stderr).to.equal(
        'error: the token is not valid for this API\n',
      );
      const viewerApply = await ctl(['--token', 'view-secret', 'apply', '-f', '-'], {}, SERVICE);
      expect(viewerApply).to.deep.include({
        code: 1,
        stderr: 'error: token viewer is read-only: it cannot call Apply\n',
      });
      const applied = await ctl(['apply', '-f', '-'], { TRELLIS_TOKEN: 'admin-secret' }, SERVICE);
      expect(applied.code, applied.stderr).to.equal(0);
      const listed = await ctl(['--token', 'view-secret', 'get', 'services']);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.stdout).to.match(/^web /m);
      expect((await ctl(['--token', 'view-secret', 'token', 'create', '--service', 'web'])).stderr).to.equal(
        'error: token viewer is read-only: it cannot call CreateJoinToken\n',
      );
    });
    it('a config file with contexts (like a kubeconfig): API and token per context, flags and env over it', async () => {
      const cli = async (args: string[], env: Record<string, string>, stdin = '') => {
        let stdout = '';
        let stderr = '';
        const code = await runCli(args, {
          stdout: { write: (s: string) => (stdout += s) },
          stderr: { write: (s: string) => (stderr += s) },
          stdin: Readable.from([stdin]),
          env,
        });
        return { code, stdout, stderr };
      };
      writeFileSync(path.join(dir, 'viewer.token'), 'view-secret\n', { mode: 0o600 });
      const config = path.join(dir, 'config.yaml');
      writeFileSync(
        config,
        [
          '# written by hand',
          'current-context: viewer',
          'contexts:',
          `  - { name: viewer, api: "${api}", tokenFile: viewer.token }`,
          `  - { name: ops, api: "${api}", token: admin-secret }`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const env = { TRELLISCONFIG: config };
      expect((await cli(['config', 'get-contexts'], env)).stdout).to.equal(
        [
          'CURRENT  NAME    API' + ' '.repeat(api.length - 3) + '  TOKEN',
          `*        viewer  ${api}  file viewer.token`,
          `         ops     ${api}  inline`,
          '',
        ].join('\n'),
      );
      // No --api, no --token: both from the current context.
      const listed = await cli(['get', 'services'], env);
      expect(listed.code, listed.stderr).to.equal(0);
      expect((await cli(['apply', '-f', '-'], env, SERVICE)).stderr).to.equal(
        'error: token viewer is read-only: it cannot call Apply\n',
      );
      expect((await cli(['--context', 'ops', 'apply', '-f', '-'], env, SERVICE)).code).to.equal(0);
      // TRELLIS_TOKEN (and --token) win over the context's token.
      expect((await cli(['--context', 'ops', 'get', 'services'], { ...env, TRELLIS_TOKEN: 'nope' })).stderr).to.equal(
        'error: the token is not valid for this API\n',
      );
      // A context's token never goes to another API than the context's.
      const elsewhere = await cli(['--api', '127.0.0.1:1', '--timeout', '1s', 'get', 'services'], env);
      expect(elsewhere.stderr).to.contain(`warning: context "viewer"'s token is for ${api}, not sent to 127.0.0.1:1`);
      // Both the API and the token given: the config (and its context) are not needed.
      expect(
        (await cli(['--context', 'none', '--api', api, '--token', 'view-secret', 'get', 'services'], env)).code,
      ).to.equal(0);
      expect(await cli(['config', 'use-context', 'ops'], env)).to.deep.include({
        code: 0,
        stdout: 'Switched to context "ops".\n',
      });
      expect((await cli(['config', 'current-context'], env)).stdout).to.equal('ops\n');
      expect(readFileSync(config, 'utf8')).to.match(/^# written by hand\ncurrent-context: ops\n/);
      expect((await cli(['--context', 'nope', 'get', 'services'], env)).stderr).to.equal(
        `error: no context named "nope" in ${config} (contexts: viewer, ops)\n`,
      );
      // An inline token in a file others can read: a warning, and it still works.
      chmodSync(config, 0o644);
      const warned = await cli(['get', 'services'], env);
      expect(warned.code).to.equal(0);
      expect(warned.stderr).to.equal(`warning: ${config} holds a token and is readable by other users (chmod 600)\n`);
      writeFileSync(config, 'contexts:\n  - { name: a, tokn: x }\n');
      expect((await cli(['get', 'services'], env)).stderr).to.equal(
        `error: ${config}: contexts[0].tokn: unknown field (expected name, api, token, tokenFile)\n`,
      );
    });
  });

  it('the control plane refuses an API reachable beyond loopback without tokens', async () => {
    const r = await run(BIN.controlPlane, [
      '--data-dir',
      dir,
      '--api-host',
      '0.0.0.0',
      '--api-port',
      '0',
      '--xds-port',
      '0',
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(
      "error: option '--api-host' 0.0.0.0 is reachable beyond this machine: give the API credentials with --api-tokens",
    );
  });
});
