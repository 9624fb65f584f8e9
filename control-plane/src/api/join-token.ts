// CreateJoinToken: a join token for one service's sidecars, each field checked and named when wrong.
import * as grpc from '@grpc/grpc-js';
import { isControlPlaneIdentity, isPathSegment, spiffeId } from '@trellis/identity';
import type { Logger } from 'pino';
import {
  type ControlPlaneTrust,
  DEFAULT_TOKEN_TTL_MS,
  type JoinTokens,
  MAX_TOKEN_TTL_MS,
} from '../identity/join-tokens.ts';
import { ApiError } from './errors.ts';
import type { CreateJoinTokenRequestMessage, CreateJoinTokenResponseMessage } from './messages.ts';

const SEGMENT = 'letters, digits, ".", "-" or "_" (not "." or "..")';

export function createJoinToken(
  trust: ControlPlaneTrust,
  tokens: JoinTokens,
  req: CreateJoinTokenRequestMessage,
  logger: Logger,
): CreateJoinTokenResponseMessage {
  const invalid = (field: string, expected: string, got: unknown) =>
    new ApiError(grpc.status.INVALID_ARGUMENT, `${field}: expected ${expected}, got ${JSON.stringify(got)}`);
  if (!isPathSegment(req.service)) throw invalid('service', `a service name (${SEGMENT})`, req.service);
  const namespace = req.namespace === '' ? 'default' : req.namespace;
  if (!isPathSegment(namespace)) throw invalid('namespace', SEGMENT, req.namespace);
  const serviceAccount = req.service_account === '' ? req.service : req.service_account;
  if (!isPathSegment(serviceAccount)) throw invalid('service_account', SEGMENT, req.service_account);
  if (isControlPlaneIdentity(namespace, serviceAccount))
    throw new ApiError(
      grpc.status.INVALID_ARGUMENT,
      `service_account: ${namespace}/${serviceAccount} is the control plane's own identity, not for workloads`,
    );
  const ttlMs = req.ttl_seconds === 0 ? DEFAULT_TOKEN_TTL_MS : req.ttl_seconds * 1000;
  if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS))
    throw invalid('ttl_seconds', `1 to ${MAX_TOKEN_TTL_MS / 1000} (0 = 24 hours)`, req.ttl_seconds);
  const { token, claims } = tokens.issue(namespace, serviceAccount, ttlMs, trust);
  const id = spiffeId({ trustDomain: trust.trustDomain, namespace, serviceAccount });
  logger.info({ spiffeId: id, expiresAt: claims.expiresAt.toISOString() }, 'join token issued');
  return { token, spiffe_id: id, expires_at: claims.expiresAt.toISOString() };
}
