// A promise-based client for the operator API (used by trellisctl and tests).
import * as grpc from '@grpc/grpc-js';
import { MAX_CLI_REPLY_BYTES } from '../common/limits.ts';
import { loadAdminProto } from './admin-proto.ts';
import type {
  ApplyRequestMessage,
  ApplyResponseMessage,
  ConfigDumpResponseMessage,
  CreateJoinTokenRequestMessage,
  CreateJoinTokenResponseMessage,
  DeleteResponseMessage,
  ListRequestMessage,
  ListResponseMessage,
  MeshStatsRequestMessage,
  MeshStatsResponseMessage,
  ProxyStatusResponseMessage,
  ResourceMessage,
  WatchEventMessage,
} from './messages.ts';

type UnaryMethod = (
  req: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;

export interface AdminClientOptions {
  /** Per-call deadline; default 10 s. */
  timeoutMs?: number;
  /** Largest reply accepted; default MAX_CLI_REPLY_BYTES (64 MiB: config dumps of large meshes pass gRPC's 4 MiB). */
  maxReplyBytes?: number;
  /** A bearer token for an API that needs credentials (`--api-tokens` on the control plane). */
  token?: string;
}

/** A page request: page_size 0 lets the server choose. */
export type ListPage = Partial<Pick<ListRequestMessage, 'page_size' | 'page_token'>>;

/** Calls reject with the grpc ServiceError (code, details) the server or the channel reported. */
export class AdminClient {
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #timeoutMs: number;
  readonly #token: string | undefined;

  constructor(address: string, opts: AdminClientOptions = {}) {
    const { Client } = loadAdminProto();
    this.address = address;
    this.#client = new Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': opts.maxReplyBytes ?? MAX_CLI_REPLY_BYTES,
    });
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#token = opts.token;
  }

  /** The call metadata: the bearer token when one was given. */
  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.#token !== undefined) md.set('authorization', `Bearer ${this.#token}`);
    return md;
  }

  #unary<Res>(method: string, req: unknown): Promise<Res> {
    const fn = (this.#client as unknown as Record<string, UnaryMethod>)[method]!.bind(this.#client);
    return new Promise((resolve, reject) => {
      fn(req, this.#metadata(), { deadline: Date.now() + this.#timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as Res),
      );
    });
  }

  apply(req: ApplyRequestMessage): Promise<ApplyResponseMessage> {
    return this.#unary('Apply', req);
  }

  get(kind: string, name: string): Promise<ResourceMessage> {
    return this.#unary('Get', { kind, name });
  }

  /** One page of a listing (the first unless page_token is given). */
  list(kind = '', page: ListPage = {}): Promise<ListResponseMessage> {
    return this.#unary('List', { kind, page_size: page.page_size ?? 0, page_token: page.page_token ?? '' });
  }

  /** Every resource of a kind, following next_page_token; the revision is the last page's. */
  async listAll(kind = '', pageSize = 0): Promise<{ resources: ResourceMessage[]; revision: number }> {
    const resources: ResourceMessage[] = [];
    let page = await this.list(kind, { page_size: pageSize });
    resources.push(...page.resources);
    while (page.next_page_token !== '') {
      page = await this.list(kind, { page_size: pageSize, page_token: page.next_page_token });
      resources.push(...page.resources);
    }
    return { resources, revision: page.revision };
  }

  delete(kind: string, name: string, dryRun = false): Promise<DeleteResponseMessage> {
    return this.#unary('Delete', { kind, name, dry_run: dryRun });
  }

  proxyStatus(): Promise<ProxyStatusResponseMessage> {
    return this.#unary('ProxyStatus', {});
  }

  configDump(nodeId: string): Promise<ConfigDumpResponseMessage> {
    return this.#unary('ConfigDump', { node_id: nodeId });
  }

  meshStats(req: Partial<MeshStatsRequestMessage> = {}): Promise<MeshStatsResponseMessage> {
    return this.#unary('MeshStats', req);
  }

  createJoinToken(req: Partial<CreateJoinTokenRequestMessage>): Promise<CreateJoinTokenResponseMessage> {
    return this.#unary('CreateJoinToken', req);
  }

  /** A stream of WatchEvents (no deadline); cancel() it when done. */
  watch(kind = ''): grpc.ClientReadableStream<WatchEventMessage> {
    const fn = (
      this.#client as unknown as Record<
        string,
        (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<WatchEventMessage>
      >
    )['Watch']!.bind(this.#client);
    return fn({ kind }, this.#metadata());
  }

  close(): void {
    this.#client.close();
  }
}
