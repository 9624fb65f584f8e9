// The control plane accepts exactly the access-log formats the sidecar can compile (else an apply would pass and
// every sidecar would NACK its listeners).
import { expect } from 'chai';
import {
  ACCESS_LOG_OPERATORS,
  accessLogFormatErrors,
} from '../control-plane/src/resources/validate/access-log-format.ts';
import { compileParts } from '../sidecar/src/config/access-log-format.ts';

const FORMATS = [
  'plain text',
  '%START_TIME%',
  '%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%',
  '%START_TIME(%s)%',
  '%START_TIME(%F %T)%',
  '%START_TIME(%%)%',
  '%REQ(x-request-id)%',
  '%REQ(:authority)%',
  '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  '%REQ(a?b?c)%',
  '%REQ(x y)%',
  '%REQ()%',
  '%RESP(content-type):10%',
  '%RESP(content-type?)%',
  '%DURATION%ms',
  '%DURATION(x)%',
  '%UPSTREAM_LOCAL_ADDRESS%',
  '%HOSTNAME% %GRPC_STATUS_NUMBER% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
  '100% done',
  '%REQ(x',
  ...ACCESS_LOG_OPERATORS.map((op) => `%${op.replace('(header)', '(x-id)')}%`),
];

function sidecarAccepts(format: string): boolean {
  try {
    compileParts(format, 'f');
    return true;
  } catch {
    return false;
  }
}

describe('access-log formats: control plane and sidecar agree', () => {
  for (const format of FORMATS) {
    it(`${JSON.stringify(format)}`, () => {
      const cp = accessLogFormatErrors(format);
      expect(cp.length === 0, `control plane: ${cp.join('; ') || 'accepted'}`).to.equal(sidecarAccepts(format));
    });
  }
});
