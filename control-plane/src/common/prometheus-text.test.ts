// parsePrometheusText: names, escaped label values, special values, filtering, errors naming the line.
import { expect } from 'chai';
import { parsePrometheusText } from './prometheus-text.ts';

describe('parsePrometheusText', () => {
  it('reads samples with labels, escapes and special values; skips comments', () => {
    const text = [
      '# TYPE envoy_cluster_upstream_rq_xx counter',
      'envoy_cluster_upstream_rq_xx{envoy_cluster_name="orders|8080|v1",envoy_response_code_class="2"} 12',
      'weird{a="q\\"uote\\\\d\\nx"} -1.5e-7',
      '',
      'envoy_http_downstream_rq_time_bucket{le="+Inf"} +Inf',
      'up NaN 1700000000000',
    ].join('\n');
    const samples = parsePrometheusText(text);
    expect(samples[0]).to.deep.equal({
      name: 'envoy_cluster_upstream_rq_xx',
      labels: { envoy_cluster_name: 'orders|8080|v1', envoy_response_code_class: '2' },
      value: 12,
    });
    expect(samples[1]).to.deep.equal({ name: 'weird', labels: { a: 'q"uote\\d\nx' }, value: -1.5e-7 });
    expect(samples[2]?.value).to.equal(Number.POSITIVE_INFINITY);
    expect(samples[3]?.value).to.be.NaN;
    expect(parsePrometheusText(text, (n) => n.startsWith('envoy_')).map((s) => s.name)).to.deep.equal([
      'envoy_cluster_upstream_rq_xx',
      'envoy_http_downstream_rq_time_bucket',
    ]);
  });

  it('throws naming the line of a malformed sample', () => {
    expect(() => parsePrometheusText('ok 1\nbad{a="x} 1')).to.throw(/^line 2: unterminated label value/);
    expect(() => parsePrometheusText('nothing')).to.throw(/^line 1: bad sample value ""/);
  });
});
