// Incremental ADS (DeltaAggregatedResources): per-resource versions, subscribe/unsubscribe, removals after updates.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { XDS_TYPES, type XdsTypeKey } from '@trellis/xds-protos';
import type { Snapshot, XdsResource } from '../cache/snapshot.ts';
import { AdsSession, type SessionDeps } from './ads-session.ts';
import { clip } from './client-text.ts';
import { KnownVersions } from './known-versions.ts';
import { type DeltaRequest, type DeltaResponse, encodeDeltaResponse, type MalformedRequest } from './messages.ts';
import type { ProxyRecord } from './proxy-tracker.ts';
import type { PreEncoded } from './shared-responses.ts';
import { Subscription } from './subscription.ts';

interface TypeState {
  sub: Subscription;
  /** Resource versions the client has (from initial_resource_versions and what we sent). */
  known: KnownVersions;
  /** Explicitly subscribed names the client was told do not exist (so it is not told again). */
  /** Created on the first name told absent (most streams never have one). */
  toldAbsent: Set<string> | undefined;
  /** A wildcard subscription still owed its first (possibly empty) response. */
  owesFirst: boolean;
  /** Subscription revision last shown in proxy status (-1: never). */
  statusRevision: number;
}

interface Changes {
  updates: XdsResource[];
  removals: string[];
}

export class DeltaStream {
  readonly #session: AdsSession<DeltaRequest, DeltaResponse>;
  readonly #types = new Map<XdsTypeKey, TypeState>();

  constructor(call: ServerDuplexStream<DeltaRequest | MalformedRequest, PreEncoded>, deps: SessionDeps) {
    this.#session = new AdsSession(
      call,
      'delta',
      deps,
      {
        request: (req, type, record) => this.#onRequest(req, type, record),
        snapshot: (snapshot, record, previous) => this.#onSnapshot(snapshot, record, previous),
      },
      encodeDeltaResponse,
    );
  }

  #onRequest(req: DeltaRequest, type: XdsTypeKey, record: ProxyRecord): void {
    const log = this.#session.log;
    let state = this.#types.get(type);
    const first = state === undefined;
    if (!state) {
      state = {
        sub: new Subscription(type),
        known: new KnownVersions(),
        toldAbsent: undefined,
        owesFirst: false,
        statusRevision: -1,
      };
      this.#types.set(type, state);
      for (const [name, version] of Object.entries(req.initial_resource_versions)) state.known.set(name, version);
    }
    const { sub } = state;
    const nonce = req.response_nonce;
    log.debug(
      {
        typeUrl: sub.typeUrl,
        subscribe: req.resource_names_subscribe,
        unsubscribe: req.resource_names_unsubscribe,
        nonce,
      },
      'delta request',
    );
    // Subscription changes apply even with a stale nonce.
    sub.subscribe(req.resource_names_subscribe, first);
    sub.unsubscribe(req.resource_names_unsubscribe);
    for (const name of [...state.known.names(), ...(state.toldAbsent ?? [])]) {
      if (!sub.covers(name)) {
        state.known.delete(name);
        state.toldAbsent?.delete(name);
      }
    }
    if (first && sub.wildcard) state.owesFirst = true;
    // Sorted names for proxy status, recomputed only when the subscription changed (not on every ACK).
    if (state.statusRevision !== sub.revision) {
      state.statusRevision = sub.revision;
      record.subscribed(sub.typeUrl, sub.statusNames());
    }
    // An ACK of the latest response: if nothing more is sent below, the client holds the newest state.
    const acked = sub.answersLatest(nonce) && !req.error_detail;
    if (sub.answersLatest(nonce)) {
      sub.inFlight = false;
      this.#session.answered(sub.typeUrl);
      if (req.error_detail) {
        const error = clip(req.error_detail.message);
        const nack = { version: sub.lastVersion, nonce, error, at: new Date().toISOString() };
        record.nacked(sub.typeUrl, nack);
        this.#session.observer?.nacked(record, sub.typeUrl, nonce, nack.error);
        this.#session.warn({ typeUrl: sub.typeUrl, ...nack }, 'NACK: client rejected the configuration');
      } else {
        record.acked(sub.typeUrl, sub.lastVersion);
        this.#session.observer?.acked(record, sub.typeUrl, nonce, sub.lastVersion);
        log.debug({ typeUrl: sub.typeUrl, version: sub.lastVersion, nonce }, 'ACK');
      }
    } else if (sub.isStale(nonce)) {
      log.debug({ typeUrl: sub.typeUrl, nonce, latest: sub.lastNonce }, 'stale nonce: only subscriptions applied');
    }
    const snapshot = this.#session.snapshot;
    if (!snapshot) return;
    const { updates, removals } = this.#changes(state, snapshot);
    if (updates.length > 0 || removals.length > 0 || state.owesFirst) {
      this.#send(state, record, snapshot, updates, removals);
    }
    if (acked && !sub.inFlight) this.#session.observer?.caughtUp(record, sub.typeUrl);
  }

  /** What the client lacks (new or changed resources) and what it has that is gone or was never there. */
  #changes(state: TypeState, snapshot: Snapshot): Changes {
    const { sub, known, toldAbsent } = state;
    const available = snapshot.resources(sub.type);
    const updates = [...sub.select(available).values()].filter((r) => known.get(r.name) !== r.version);
    const removals = known.names().filter((name) => sub.covers(name) && !available.has(name));
    for (const name of sub.names) {
      if (!available.has(name) && !known.has(name) && !toldAbsent?.has(name)) removals.push(name);
    }
    return { updates, removals };
  }

  /** A new snapshot: additions and updates per type in CDS, EDS, LDS, RDS order, then removals in reverse order. */
  #onSnapshot(snapshot: Snapshot, record: ProxyRecord, previous: Snapshot | undefined): void {
    const removalsLater: [TypeState, string[]][] = [];
    const pending: [TypeState, Changes][] = [];
    for (const type of XDS_TYPES) {
      const state = this.#types.get(type);
      if (!state) continue;
      // Requests were answered against the previous snapshot: a type whose content did not change owes nothing.
      if (previous && previous.typeVersion(type) === snapshot.typeVersion(type)) continue;
      pending.push([state, this.#changes(state, snapshot)]);
    }
    // When listeners or clusters go, routes and endpoints must stop referring to them first: nothing is paced then.
    const breaking = pending.some(([state, c]) => state.sub.fullState && c.removals.length > 0);
    for (const [state, { updates, removals }] of pending) {
      // The answer to the response in flight sends the newest state (#onRequest); removals are never held back,
      // so they keep their place after every addition and update.
      if (state.sub.paced && removals.length === 0 && !breaking) {
        this.#session.observer?.deferred(record, state.sub.typeUrl);
        continue;
      }
      if (updates.length > 0 || (state.owesFirst && removals.length === 0)) {
        this.#send(state, record, snapshot, updates, []);
      }
      if (removals.length > 0) removalsLater.unshift([state, removals]);
    }
    for (const [state, removals] of removalsLater) this.#send(state, record, snapshot, [], removals);
  }

  #send(state: TypeState, record: ProxyRecord, snapshot: Snapshot, updates: XdsResource[], removals: string[]): void {
    const { sub, known } = state;
    // Everything the response carries but its nonce (streams of a group at the same state share one encoding).
    const key = JSON.stringify([
      'delta',
      sub.typeUrl,
      snapshot.version,
      updates.map((r) => [r.name, r.version]),
      removals,
    ]);
    const nonce = this.#session.write(sub, key, (n) => ({
      system_version_info: snapshot.version,
      resources: updates.map((r) => ({
        name: r.name,
        version: r.version,
        resource: { type_url: sub.typeUrl, value: r.value },
      })),
      type_url: sub.typeUrl,
      removed_resources: removals,
      nonce: n,
    }));
    if (nonce === undefined) return;
    known.apply(updates, removals, snapshot.resources(sub.type), snapshot.typeVersion(sub.type));
    if (state.toldAbsent) for (const r of updates) state.toldAbsent.delete(r.name);
    for (const name of removals) {
      if (!sub.names.has(name)) continue;
      state.toldAbsent ??= new Set();
      state.toldAbsent.add(name);
    }
    state.owesFirst = false;
    sub.sent(nonce);
    sub.lastVersion = known.version();
    record.sent(sub.typeUrl, sub.lastVersion);
    this.#session.observer?.pushed({
      record,
      typeUrl: sub.typeUrl,
      version: sub.lastVersion,
      nonce,
      resourceCount: updates.length,
      removedCount: removals.length,
    });
    this.#session.log.debug(
      { typeUrl: sub.typeUrl, nonce, updated: updates.map((r) => r.name), removed: removals },
      'delta response',
    );
  }
}
