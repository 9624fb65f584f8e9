// The default ProberFactory: the HTTP/1.1, h2c, TCP or gRPC prober a HealthProbe asks for.
import { GrpcProber } from './grpc-prober.ts';
import { H2HttpProber, Http1Prober } from './http-prober.ts';
import type { ProberFactory } from './prober.ts';
import { TcpProber } from './tcp-prober.ts';

export const createProber: ProberFactory = (target, probe, ctx) => {
  switch (probe.kind) {
    case 'http':
      return probe.codec === 'http2' ? new H2HttpProber(target, probe, ctx) : new Http1Prober(target, probe, ctx);
    case 'tcp':
      return new TcpProber(target, probe, ctx);
    case 'grpc':
      return new GrpcProber(target, probe, ctx);
  }
};
