/**
 * `ListenerHub`: the listener API's PUSH and PULL for every listen grant at once.
 *
 * - Samples reach it through the agent's latest values (one pass per sample, whatever the number
 *   of grantees). A timer ticks every `tickMs`; at each tick every active grant whose period has
 *   come gets the latest values of its paths (only when one changed since its last push), rounded
 *   to its granularity, sealed to its grantee (chain/wire/listen.ts) and published. Grants with the same
 *   paths and rounding share the rounded snapshot within a tick; only sealing is per grantee.
 * - A grant is checked at every tick (grantState), so a stream stops at the first tick after its
 *   expiry or lapsed payment: within one sample period when `tickMs` is at most the period. A
 *   revocation drops the grant's session synchronously (GrantRegistry.onRevoke), so no sample is
 *   sealed for it after `revoke` returns.
 * - PULL: a signed request on `.../listen/<grantId>/pull` is checked like a command (signature,
 *   grantee, validity, skew, nonce, the terms' `pull` and rate) and answered on the push topic
 *   with the request's nonce in the message; every pull attempt a grantee signed goes to the audit
 *   log, the others are counted per minute (RefusalSummary, issue 14 attack 10).
 * - Time (issue 14, attack 6): signal ages, the conditions' "held since" and whether anything
 *   changed since the last push go by the monotonic time values were received, so a wall clock
 *   step neither makes quiet signals fresh nor stalls a stream whose new samples carry older stamps.
 * - Conditions (issue 14, attack 4: they used to be ignored, so a grant for the location "only while
 *   `Vehicle.Speed le 0`" pushed it at 90 km/h): a grant's conditions are checked on the live signals
 *   at every push and every pull, as a control command's are (a signal with no value in the last
 *   `maxSignalAgeMs` fails its rule). While they do not hold nothing is pushed and a pull is refused
 *   (CONDITION). Values received before the conditions were last seen holding after a failure (or
 *   before the stream's first check) are withheld, so the location taken while the car still
 *   moved is not delivered when it stops. Grants that share their conditions share the check
 *   within a tick.
 */
import {
  CodecError,
  decodePull,
  type Ed25519Signer,
  encodeListenerPayload,
  type ListenedValue,
  ListenerSession,
  type PullRequest,
  rawMessageId,
} from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { PermissionStore } from '../store/index.js';
import { type CheckPolicy, checkRules, checkSignedRequest, type LiveSignal, type Refusal } from './checks.js';
import { type GrantRegistry, grantState, type HeldGrant } from './grant-registry.js';
import { RefusalSummary } from './refusal-summary.js';
import { quantize } from './terms.js';

/** Counters the hub reports. */
export const LISTEN_COUNTERS = [
  'listen.pushed',
  'listen.bytes',
  'listen.pulls',
  'listen.pulls.refused',
  'listen.stopped',
] as const;

export interface ListenerHubOptions {
  readonly registry: GrantRegistry;
  readonly store: PermissionStore;
  /** The latest value of a signal. */
  readonly live: (path: string) => LiveSignal;
  /** The device's time, ms since the epoch (DeviceClock.nowMs). */
  readonly nowMs: () => number;
  /** The time grant validity is judged at (DeviceClock.validityNowMs; default `nowMs`). */
  readonly validityNowMs?: () => number;
  /** Monotonic clock, ms: signal ages for conditions (default performance.now). */
  readonly monoMs?: () => number;
  /** Counts refusals of unauthenticated pulls instead of auditing each (attack 10). */
  readonly summary?: RefusalSummary;
  /** The device key: it signs each session's key, so a grantee can tell the car's messages from forgeries. */
  readonly device: Ed25519Signer;
  /** Sends a sealed message (MQTT: `<prefix>/<vehicle>/listen/<grantId>`). */
  readonly publish: (grantId: string, bytes: Uint8Array) => void;
  /** The device's cap on any grant's rate, Hz (default 10). */
  readonly maxRateHz?: number;
  /** Tick period, ms (default 50). */
  readonly tickMs?: number;
  readonly policy: CheckPolicy;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

interface Stream {
  readonly grant: HeldGrant;
  readonly session: ListenerSession;
  readonly periodMs: number;
  /** Cache key of the grant's paths and rounding. */
  readonly shape: string;
  /** Cache key of the grant's conditions ('' when it has none). */
  readonly conditionKey: string;
  /**
   * With conditions: values received before this monotonic time (ms) are withheld. The time of
   * the first check that found them holding after a failure, or at the stream's start.
   */
  heldSinceMono: number;
  /** Whether the conditions held at the last check. */
  held: boolean;
  /** Monotonic ms of the next push (periods and the pull rate run on the monotonic clock). */
  nextMono: number;
  /** When the newest value pushed was received (monotonic ms): a push needs a newer one. */
  lastPushedMono: number;
  lastPullMono: number;
}

export class ListenerHub {
  readonly #o: ListenerHubOptions;
  readonly #streams = new Map<string, Stream>();
  readonly #offRevoke: () => void;
  readonly #summary: RefusalSummary;
  readonly #mono: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ListenerHubOptions) {
    this.#o = options;
    this.#mono = options.monoMs ?? (() => performance.now());
    this.#summary =
      options.summary ??
      new RefusalSummary({
        append: (e) => options.store.appendAudit(e),
        monoMs: this.#mono,
      });
    options.metrics.declare(...LISTEN_COUNTERS);
    this.#offRevoke = options.registry.onRevoke((g) => {
      if (this.#streams.delete(g.id)) options.metrics.inc('listen.stopped');
    });
  }

  /** Starts the tick timer. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.tick(), this.#o.tickMs ?? 50);
    this.#timer.unref?.();
  }

  /** Stops the timer and forgets the sessions. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#offRevoke();
    this.#streams.clear();
  }

  /** Grants with a live stream now. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** One pass: pushes to every grant whose period has come. Returns the number of messages sent. */
  tick(): number {
    const o = this.#o;
    const nowMs = o.nowMs();
    this.#sync(nowMs);
    const shared = new Map<string, Snapshot>();
    const conditions = new Map<string, Refusal | undefined>();
    let sent = 0;
    for (const s of this.#streams.values()) {
      const mono = this.#mono();
      if (mono < s.nextMono) continue;
      s.nextMono = Math.max(s.nextMono + s.periodMs, mono);
      if (this.#conditionsRefuse(s, conditions) !== undefined) continue;
      let snap = shared.get(s.shape);
      if (snap === undefined) {
        snap = this.#snapshot(s.grant);
        shared.set(s.shape, snap);
      }
      if (s.conditionKey !== '') snap = since(snap, s.heldSinceMono);
      // Changes are told by when values arrived, not by their stamps: after the wall clock steps
      // back, new samples carry older stamps than those already pushed (issue 14, attack 6).
      if (snap.values.length === 0 || snap.monoMs <= s.lastPushedMono) continue;
      s.lastPushedMono = snap.monoMs;
      this.#send(s, encodeListenerPayload(nowMs, snap.values), null);
      sent++;
    }
    return sent;
  }

  /** Answers a pull request that arrived on the topic of `topicGrantId`. */
  handlePull(topicGrantId: string, payload: Uint8Array): Refusal | undefined {
    const o = this.#o;
    const nowMs = o.nowMs();
    o.metrics.inc('listen.pulls');
    let req: PullRequest | undefined;
    let refusal: Refusal | undefined;
    try {
      req = decodePull(payload);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      refusal = { code: payload.length > 1024 ? 'OVERSIZED' : 'MALFORMED', detail: err.message };
    }
    const grant = req === undefined ? undefined : o.registry.get(req.grantId);
    if (refusal === undefined && req !== undefined) {
      refusal =
        (req.grantId !== topicGrantId
          ? { code: 'TOPIC_MISMATCH' as const, detail: 'the request names another grant than its topic' }
          : undefined) ??
        checkSignedRequest(grant, req, 'listen', nowMs, o.policy, o.validityNowMs?.()) ??
        (o.store.recordNonce(req.grantId, req.nonce, req.issuedMs, 2 * o.policy.skewMs)
          ? undefined
          : { code: 'REPLAYED' as const, detail: `nonce ${req.nonce} was seen before` }) ??
        (grant!.terms.pull
          ? undefined
          : { code: 'OUT_OF_SCOPE' as const, detail: 'the grant does not allow pulls' });
    }
    const stream = grant === undefined ? undefined : this.#streams.get(grant.id);
    if (refusal === undefined && stream !== undefined && this.#mono() - stream.lastPullMono < stream.periodMs)
      refusal = { code: 'RATE_LIMITED', detail: `one pull per ${stream.periodMs} ms` };
    if (refusal === undefined && stream === undefined)
      refusal = { code: 'EXPIRED', detail: 'the grant has no live stream' };
    if (refusal === undefined) refusal = this.#conditionsRefuse(stream!);
    const topicGrant = /^[0-9a-f]{64}$/.test(topicGrantId) ? topicGrantId : null;
    const messageId = req === undefined ? rawMessageId(payload) : Buffer.from(req.hash).toString('hex');
    if (refusal !== undefined && RefusalSummary.unauthenticated(refusal.code)) {
      // Attack 10: a pull nobody proved a grantee sent is counted, not written row by row.
      const named = req?.grantId ?? topicGrant;
      const held = named !== null && o.registry.get(named) !== undefined ? named : null;
      this.#summary.note('pull', held, refusal, messageId, nowMs);
      o.metrics.inc('listen.pulls.refused');
      return refusal;
    }
    o.store.appendAudit({
      atMs: nowMs,
      kind: 'pull',
      grantId: req?.grantId ?? topicGrant,
      actor: req?.signer ?? '',
      command: 'pull',
      args: '{}',
      nonce: req?.nonce ?? '',
      messageId,
      outcome: refusal === undefined ? 'executed' : 'refused',
      reason: refusal?.code ?? 'OK',
      detail: refusal?.detail ?? 'answered',
      framesWritten: 0,
    });
    if (refusal !== undefined) {
      o.metrics.inc('listen.pulls.refused');
      return refusal;
    }
    stream!.lastPullMono = this.#mono();
    const all = this.#snapshot(stream!.grant);
    const snap = stream!.conditionKey === '' ? all : since(all, stream!.heldSinceMono);
    this.#send(stream!, encodeListenerPayload(nowMs, snap.values), req!.nonce);
    return undefined;
  }

  /** Opens streams for grants that became active and closes those that stopped being. */
  #sync(wallNowMs: number): void {
    const o = this.#o;
    // Grant validity at the DeviceClock's conservative time: while the wall clock is in doubt a
    // grant ending within the doubt has ended (attack 6).
    const nowMs = o.validityNowMs?.() ?? wallNowMs;
    for (const [id, s] of this.#streams)
      if (grantState(o.registry.get(id) ?? s.grant, nowMs) !== 'active') {
        this.#streams.delete(id);
        o.metrics.inc('listen.stopped');
        o.logger.info({ grant: id, state: grantState(s.grant, nowMs) }, 'listener stream stopped');
      }
    for (const g of o.registry.list()) {
      if (g.body.kind !== 'listen' || this.#streams.has(g.id) || grantState(g, nowMs) !== 'active') continue;
      const rateHz = Math.min(g.terms.rateHz, o.maxRateHz ?? 10);
      const paths = [...g.body.scope].sort();
      this.#streams.set(g.id, {
        grant: g,
        // Ordered session numbers, kept in the store: the grantee's reader refuses older ones.
        session: new ListenerSession(g.id, g.body.grantee, o.device, o.store.nextListenSession(wallNowMs)),
        periodMs: 1000 / rateHz,
        shape: paths.map((p) => `${p}=${g.terms.granularity.get(p) ?? ''}`).join(','),
        conditionKey: g.terms.conditions.map((c) => `${c.path} ${c.op} ${c.value}`).join(','),
        heldSinceMono: Number.POSITIVE_INFINITY,
        held: false,
        nextMono: this.#mono(),
        lastPushedMono: Number.NEGATIVE_INFINITY,
        lastPullMono: Number.NEGATIVE_INFINITY,
      });
      o.logger.info({ grant: g.id, rateHz, paths: paths.length }, 'listener stream started');
    }
  }

  /**
   * The grant's conditions on the live signals now (`cache`: results of this tick by condition
   * key). Keeps `held` and `heldSinceMono` up to date. Undefined when they hold (or there are none).
   */
  #conditionsRefuse(s: Stream, cache?: Map<string, Refusal | undefined>): Refusal | undefined {
    if (s.conditionKey === '') return undefined;
    const mono = this.#mono();
    let r: Refusal | undefined;
    if (cache?.has(s.conditionKey)) r = cache.get(s.conditionKey);
    else {
      // Signal ages on the monotonic clock (attack 6), as for control interlocks.
      r = checkRules(
        s.grant.terms.conditions,
        this.#o.live,
        mono,
        this.#o.policy.maxSignalAgeMs,
        'CONDITION',
      );
      cache?.set(s.conditionKey, r);
    }
    if (r !== undefined) s.held = false;
    else if (!s.held) {
      s.held = true;
      s.heldSinceMono = mono;
    }
    return r;
  }

  #snapshot(g: HeldGrant): Snapshot {
    const values: ListenedValue[] = [];
    const received: number[] = [];
    let monoMs = Number.NEGATIVE_INFINITY;
    for (const path of g.body.scope) {
      const s = this.#o.live(path);
      if (s === undefined) continue;
      const step = g.terms.granularity.get(path);
      const v = step !== undefined && typeof s.value === 'number' ? quantize(s.value, step) : s.value;
      values.push([path, v, s.tMs]);
      received.push(s.receivedMonoMs);
      if (s.receivedMonoMs > monoMs) monoMs = s.receivedMonoMs;
    }
    return { values, received, monoMs };
  }

  #send(s: Stream, plaintext: Uint8Array, pullNonce: string | null): void {
    const bytes = s.session.seal(plaintext, pullNonce);
    this.#o.metrics.inc('listen.pushed');
    this.#o.metrics.inc('listen.bytes', bytes.length);
    this.#o.publish(s.grant.id, bytes);
  }
}

/** A grant's values now, with when each was received and the newest of those (monotonic ms). */
interface Snapshot {
  readonly values: ListenedValue[];
  readonly received: number[];
  readonly monoMs: number;
}

/** The values of `snap` received at or after `sinceMono` (monotonic ms). */
function since(snap: Snapshot, sinceMono: number): Snapshot {
  const keep = snap.received.map((t) => t >= sinceMono);
  if (keep.every(Boolean)) return snap;
  const values = snap.values.filter((_, i) => keep[i]);
  const received = snap.received.filter((_, i) => keep[i]);
  return { values, received, monoMs: Math.max(Number.NEGATIVE_INFINITY, ...received) };
}
