// State-of-the-world ADS (StreamAggregatedResources): full-set requests, nonces, ACK/NACK, make-before-break pushes.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { XDS_TYPES, type XdsTypeKey } from '@trellis/xds-protos';
import { versionOfResources } from '../cache/hash.ts';
import type { Snapshot, XdsResource } from '../cache/snapshot.ts';
import { AdsSession, type SessionDeps } from './ads-session.ts';
import { clip } from './client-text.ts';
import { encodeSotwResponse, type MalformedRequest, type SotwRequest, type SotwResponse } from './messages.ts';
import type { ProxyRecord } from './proxy-tracker.ts';
import type { PreEncoded } from './shared-responses.ts';
import { Subscription } from './subscription.ts';

interface TypeState {
  sub: Subscription;
  /** What the client last received for this type; undefined until the first response (or after unsubscribe). */
  sent: Map<string, XdsResource> | undefined;
  /** The version_info of the type's first request on this stream (a reconnecting client's), until first answered. */
  held: string;
  /** Subscription revision last shown in proxy status (-1: never). */
  statusRevision: number;
}

/** Same names with the same versions. */
function sameResources(a: ReadonlyMap<string, XdsResource>, b: ReadonlyMap<string, XdsResource> | undefined): boolean {
  if (!b || a.size !== b.size) return false;
  for (const [name, r] of a) if (b.get(name)?.version !== r.version) return false;
  return true;
}

/** Every resource of `wanted` is already in `sent` at the same version. */
function alreadyHas(sent: ReadonlyMap<string, XdsResource> | undefined, wanted: ReadonlyMap<string, XdsResource>) {
  for (const [name, r] of wanted) if (sent?.get(name)?.version !== r.version) return false;
  return true;
}

export class SotwStream {
  readonly #session: AdsSession<SotwRequest, SotwResponse>;
  readonly #types = new Map<XdsTypeKey, TypeState>();

  constructor(call: ServerDuplexStream<SotwRequest | MalformedRequest, PreEncoded>, deps: SessionDeps) {
    this.#session = new AdsSession(
      call,
      'sotw',
      deps,
      {
        request: (req, type, record) => this.#onRequest(req, type, record),
        snapshot: (snapshot, record, previous) => this.#onSnapshot(snapshot, record, previous),
      },
      encodeSotwResponse,
    );
  }

  #onRequest(req: SotwRequest, type: XdsTypeKey, record: ProxyRecord): void {
    let state = this.#types.get(type);
    if (!state) {
      state = { sub: new Subscription(type), sent: undefined, held: req.version_info, statusRevision: -1 };
      this.#types.set(type, state);
    }
    const { sub } = state;
    const log = this.#session.log;
    const nonce = req.response_nonce;
    log.debug({ typeUrl: sub.typeUrl, names: req.resource_names, nonce, version: req.version_info }, 'request');
    if (sub.isStale(nonce)) {
      log.debug({ typeUrl: sub.typeUrl, nonce, latest: sub.lastNonce }, 'stale nonce: request ignored');
      return;
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
        record.acked(sub.typeUrl, req.version_info);
        this.#session.observer?.acked(record, sub.typeUrl, nonce, req.version_info);
        log.debug({ typeUrl: sub.typeUrl, version: req.version_info, nonce }, 'ACK');
      }
    }
    const added = sub.replace(req.resource_names);
    // Sorted names for proxy status, recomputed only when the subscription changed (not on every ACK).
    if (state.statusRevision !== sub.revision) {
      state.statusRevision = sub.revision;
      record.subscribed(sub.typeUrl, sub.statusNames());
    }
    if (!sub.active) {
      state.sent = undefined;
      return;
    }
    // The client forgets what it no longer subscribes to.
    if (state.sent) for (const name of state.sent.keys()) if (!sub.covers(name)) state.sent.delete(name);
    // Names newly added are answered even when nothing changed: RDS/EDS once they exist; LDS/CDS right away,
    // since their responses also tell the client which of its names do not exist.
    const available = this.#session.snapshot?.resources(type);
    this.#respond(state, record, sub.fullState ? added.length > 0 : added.some((n) => available?.has(n) === true));
    if (acked && !sub.inFlight) this.#session.observer?.caughtUp(record, sub.typeUrl);
  }

  /** Sends what the client should have when it differs from what it has (or when forced). */
  #respond(state: TypeState, record: ProxyRecord, force: boolean): void {
    const snapshot = this.#session.snapshot;
    const { sub } = state;
    if (!snapshot || !sub.active) return;
    const wanted = sub.select(snapshot.resources(sub.type));
    if (this.#holds(state, record, wanted)) return;
    if (sub.fullState) {
      if (force || state.sent === undefined || !sameResources(wanted, state.sent)) this.#send(state, record, wanted);
      return;
    }
    // RDS/EDS: nothing to say until a requested name exists; the names stay remembered for later snapshots.
    if (wanted.size === 0) return;
    if (force || state.sent === undefined) {
      this.#send(state, record, wanted);
      return;
    }
    if (alreadyHas(state.sent, wanted)) return;
    // RDS/EDS responses need not repeat what the client holds: only changed resources go (an endpoint change is
    // one ClusterLoadAssignment); version_info still covers everything the client then holds.
    const held = state.sent;
    const changed = new Map([...wanted].filter(([name, r]) => held.get(name)?.version !== r.version));
    this.#send(state, record, changed, wanted);
  }

  /**
   * A client that reconnects names the version it holds: when that is what it would get, nothing is sent and
   * the stream carries on as if it had been (later snapshots send only what differs).
   */
  #holds(state: TypeState, record: ProxyRecord, wanted: Map<string, XdsResource>): boolean {
    const held = state.held;
    if (held === '' || state.sent !== undefined) return false;
    // RDS/EDS: the client's version counts once its names exist.
    if (!state.sub.fullState && wanted.size === 0) return false;
    state.held = '';
    if (held !== versionOfResources(wanted)) return false;
    state.sent = wanted;
    state.sub.lastVersion = held;
    record.acked(state.sub.typeUrl, held);
    this.#session.log.debug({ typeUrl: state.sub.typeUrl, version: held }, 'client already holds this version');
    return true;
  }

  /**
   * A new snapshot: push changed types in CDS, EDS, LDS, RDS order. When LDS/CDS lose resources, first send
   * the union of old and new, and the final set only after every other type (listeners, then clusters).
   */
  #onSnapshot(snapshot: Snapshot, record: ProxyRecord, previous: Snapshot | undefined): void {
    const finals: TypeState[] = [];
    const changed = (type: XdsTypeKey): boolean =>
      !previous || previous.typeVersion(type) !== snapshot.typeVersion(type);
    // When listeners or clusters go, routes and endpoints must be updated before the final sets: nothing is paced.
    const breaking = XDS_TYPES.some((type) => {
      const state = this.#types.get(type);
      if (!state?.sub.active || !state.sub.fullState || !state.sent || !changed(type)) return false;
      const wanted = state.sub.select(snapshot.resources(type));
      return [...state.sent.keys()].some((name) => !wanted.has(name));
    });
    for (const type of XDS_TYPES) {
      const state = this.#types.get(type);
      if (!state?.sub.active) continue;
      // Requests were answered against the previous snapshot: a type whose content did not change owes nothing.
      if (!changed(type)) continue;
      // The answer to the response in flight sends the newest state (#onRequest → #respond).
      if (state.sub.paced && !breaking) {
        this.#session.observer?.deferred(record, state.sub.typeUrl);
        continue;
      }
      if (state.sub.fullState && state.sent) {
        const wanted = state.sub.select(snapshot.resources(type));
        const removed = [...state.sent].filter(([name]) => !wanted.has(name));
        if (removed.length > 0) {
          const union = new Map([...wanted, ...removed]);
          if (!sameResources(union, state.sent)) this.#send(state, record, union);
          finals.unshift(state);
          continue;
        }
      }
      this.#respond(state, record, false);
    }
    for (const state of finals) this.#respond(state, record, false);
  }

  /** Sends `resources`; `holds` is everything of the type the client has once it applies them (default: those). */
  #send(
    state: TypeState,
    record: ProxyRecord,
    resources: Map<string, XdsResource>,
    holds: Map<string, XdsResource> = resources,
  ): void {
    const { sub } = state;
    const version = versionOfResources(holds);
    const key = JSON.stringify(['sotw', sub.typeUrl, version, [...resources.values()].map((r) => [r.name, r.version])]);
    const nonce = this.#session.write(sub, key, (n) => ({
      version_info: version,
      resources: [...resources.values()].map((r) => ({ type_url: sub.typeUrl, value: r.value })),
      type_url: sub.typeUrl,
      nonce: n,
    }));
    if (nonce === undefined) return;
    sub.sent(nonce);
    sub.lastVersion = version;
    state.sent = holds;
    record.sent(sub.typeUrl, version);
    this.#session.observer?.pushed({
      record,
      typeUrl: sub.typeUrl,
      version,
      nonce,
      resourceCount: resources.size,
      removedCount: 0,
    });
    this.#session.log.debug({ typeUrl: sub.typeUrl, version, nonce, names: [...resources.keys()] }, 'response');
  }
}
