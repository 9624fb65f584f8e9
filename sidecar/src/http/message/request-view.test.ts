// Request heads normalized from HTTP/1.1 and HTTP/2: targets, authorities, hop-by-hop headers, cookie crumbs.
import type { Http2ServerRequest } from 'node:http2';
import { expect } from 'chai';
import { splitAbsoluteForm, viewFromH1, viewFromH2 } from './request-view.ts';

const h1 = (method: string, url: string, rawHeaders: string[]) => viewFromH1({ method, url, rawHeaders });
const h2 = (rawHeaders: string[]) => viewFromH2({ rawHeaders } as unknown as Http2ServerRequest);

describe('RequestView', () => {
  it('splits path and query, keeps Host as the authority', () => {
    const v = h1('GET', '/a/b?c=d', ['Host', 'orders:8080', 'Accept', '*/*'])!;
    expect(v.authority).to.equal('orders:8080');
    expect(v.path).to.equal('/a/b');
    expect(v.query).to.equal('?c=d');
    expect(v.headers).to.deep.equal(['accept', '*/*']);
    expect(v.header(':path')).to.equal('/a/b?c=d');
    expect(v.header('host')).to.equal('orders:8080');
  });

  it('absolute-form: authority from the URL, origin-form target', () => {
    const v = h1('GET', 'http://user@orders:8080/x?y=1#frag', ['Host', 'other'])!;
    expect(v.authority).to.equal('orders:8080');
    expect(v.path + v.query).to.equal('/x?y=1');
    expect(splitAbsoluteForm('http://orders')).to.deep.equal({ authority: 'orders', target: '/' });
    expect(splitAbsoluteForm('http://orders?q')).to.deep.equal({ authority: 'orders', target: '/?q' });
    expect(splitAbsoluteForm('ftp://orders/x')).to.equal(undefined);
  });

  it('strips hop-by-hop headers and the ones Connection names; keeps TE: trailers', () => {
    const v = h1('GET', '/', [
      'Host',
      'a',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      'secret',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authorization',
      'Basic Zm9v',
      'TE',
      'trailers, deflate',
      'Upgrade',
      'h2c',
      'HTTP2-Settings',
      'AAA',
      'X-End',
      'kept',
    ])!;
    expect(v.headers).to.deep.equal(['te', 'trailers', 'x-end', 'kept']);
    expect(v.upgrade).to.equal(undefined);
  });

  it('remembers the Upgrade header when Connection names it', () => {
    const v = h1('GET', '/ws', ['Host', 'a', 'Connection', 'Upgrade', 'Upgrade', 'websocket'])!;
    expect(v.upgrade).to.equal('websocket');
  });

  it('rejects what cannot be forwarded: no authority, duplicate Host, odd targets', () => {
    expect(h1('GET', '/', [])).to.equal(undefined);
    expect(h1('GET', '/', ['Host', 'a', 'Host', 'b'])).to.equal(undefined);
    expect(h1('GET', 'weird', ['Host', 'a'])).to.equal(undefined);
    expect(h1('OPTIONS', '*', ['Host', 'a'])?.path).to.equal('*');
  });

  it('CONNECT uses the authority-form target', () => {
    const v = h1('CONNECT', 'db:5432', ['Host', 'db:5432'])!;
    expect(v.isConnect).to.equal(true);
    expect(v.authority).to.equal('db:5432');
  });

  it('HTTP/2: pseudo headers, :authority over host, cookie crumbs joined', () => {
    const v = h2([
      ':method',
      'POST',
      ':path',
      '/svc/Call',
      ':authority',
      'grpc.local',
      ':scheme',
      'http',
      'cookie',
      'a=1',
      'content-type',
      'application/grpc',
      'cookie',
      'b=2',
      'te',
      'trailers',
    ])!;
    expect(v.method).to.equal('POST');
    expect(v.authority).to.equal('grpc.local');
    expect(v.headers).to.deep.equal(['cookie', 'a=1; b=2', 'content-type', 'application/grpc', 'te', 'trailers']);
    expect(v.isH2).to.equal(true);
  });

  it('query parameters are parsed lazily', () => {
    const v = h1('GET', '/?a=1&b=x%20y&b=2', ['Host', 'a'])!;
    expect(v.queryParam('b')).to.equal('x y');
    expect(v.queryParam('c')).to.equal(null);
  });
});
