// Hostile input: the one-request crashes of issue 11 (item 1), repeated beside a legitimate load: h2c to an HTTP/1.1
// service (a Date per hop), and an app answering single-value headers twice to an HTTP/2 client. (HEADERS(POST) then
// RST_STREAM(CANCEL) is in h2-streams.test.ts.)
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import { type RawApp, startRawApp } from './hostile-apps.ts';
import { type HostileMesh, type ManagedSidecar, startHostileMesh, until } from './hostile-mesh.ts';
import { ATTACKER_ADDRESS } from './raw-h2.ts';

const BAD_SERVICES = ['location', 'content-type', 'date']
  .map(
    (name) => `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: twice-${name} }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
`,
  )
  .join('---\n');

/** Raw responses with a header twice (node's http server could not write them). */
const TWICE: Record<string, string> = {
  location: 'HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n',
  'content-type':
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok',
  date: `HTTP/1.1 200 OK\r\nDate: ${new Date(0).toUTCString()}\r\nDate: ${new Date().toUTCString()}\r\nContent-Length: 2\r\n\r\nok`,
};

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
}

/** HTTP/2 GETs on one session from the attacker address; each reply's status and headers (status 0: reset). */
async function h2Gets(port: number, authority: string, path: string, count: number): Promise<H2Reply[]> {
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => net.connect({ port, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS }),
  });
  session.on('error', () => {});
  try {
    return await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<H2Reply>((resolve) => {
            const req = session.request({ ':path': path, ':authority': authority });
            const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 5_000);
            let reply: H2Reply = { status: 0, headers: {} };
            req.on('response', (headers) => {
              reply = { status: Number(headers[':status']), headers };
            });
            req.on('error', () => {});
            req.on('close', () => {
              clearTimeout(timer);
              resolve(reply);
            });
            req.resume();
            req.end();
          }),
      ),
    );
  } finally {
    session.destroy();
  }
}

describe('hostile: one-request crashes (issue 11, item 1)', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;
  const apps: RawApp[] = [];
  const sidecars: Record<string, ManagedSidecar> = {};

  before(async () => {
    mesh = await startHostileMesh(BAD_SERVICES);
    for (const name of Object.keys(TWICE)) {
      const app = await startRawApp(TWICE[name] as string);
      apps.push(app);
      sidecars[name] = await mesh.addSidecar(`twice-${name}`, app.port);
    }
    await until(async () => {
      const [r] = await h2Gets(mesh.client.outboundPort, 'twice-date:8080', '/ready', 1);
      return r?.status === 200;
    }, 'the misbehaving apps reachable through the mesh');
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('h2c to an HTTP/1.1 service through the outbound listener: 200 with one Date, the sidecars stay up', async () => {
    const replies: H2Reply[] = [];
    await underAttack(mesh, { name: 'h2c to an HTTP/1.1 service (a Date per hop)', target: mesh.client }, async () => {
      await repeatFor(1_000, { parallel: 2, minCount: 4, maxCount: 100 }, async () => {
        replies.push(...(await h2Gets(mesh.client.outboundPort, 'web:8080', '/h2c-to-h1', 10)));
      });
    });
    for (const r of replies) {
      expect(r.status).to.equal(200);
      expect(r.headers.date, 'one Date').to.be.a('string');
    }
  });

  for (const [header, expected] of [
    ['location', [502]],
    ['content-type', [502]],
    ['date', [200]],
  ] as const) {
    it(`an app answering ${header} twice to HTTP/2 clients: ${expected.join('/')}, the sidecars stay up`, async () => {
      const replies: H2Reply[] = [];
      const authority = `twice-${header}:8080`;
      for (const [listener, target, port] of [
        ['outbound', mesh.client, mesh.client.outboundPort],
        ['inbound', sidecars[header] as ManagedSidecar, (sidecars[header] as ManagedSidecar).inboundPort],
      ] as const) {
        await underAttack(
          mesh,
          { name: `app answering ${header} twice, HTTP/2 client (${listener})`, target },
          async () => {
            await repeatFor(1_000, { parallel: 2, minCount: 4, maxCount: 100 }, async () => {
              replies.push(...(await h2Gets(port, authority, `/twice-${header}`, 10)));
            });
          },
        );
      }
      for (const r of replies) expect(expected as readonly number[]).to.include(r.status);
      if (header === 'date') for (const r of replies) expect(r.headers.date).to.equal(new Date(0).toUTCString());
    });
  }
});
