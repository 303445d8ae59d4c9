/**
 * `ChainView`: the chain as the device sees it, through an embedded light client. It subscribes to
 * `qood/v1/chain/finality` on the agent's uplink, where a node publishes finality updates (the
 * canonical bytes of chain/light/codec.ts), and applies each one that its light client accepts.
 * An update may carry proofs of this vehicle's grants; each proven grant record is kept and handed
 * to the grant registry (`applyChainRecord`), so a revocation made on chain takes effect on the
 * device as a local one does. It also checks a single state proof on demand (`checkGrant`).
 *
 * Garbage, stale and forged updates are refused, logged with the light client's reason and
 * counted by reason (`chain.refused.<CODE>`); the view keeps running. Memory: the light client's
 * O(schedule) plus one record per grant the chain has proven.
 */
import {
  type Checkpoint,
  CodecError,
  DEFAULT_TOPIC_PREFIX,
  decodeGrant,
  decodeStateProof,
  decodeUpdate,
  type Grant,
  LightClient,
  LightError,
  type LightErrorCode,
  stateKey,
} from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import { followTopic, type Uplink } from '../sync/uplink.js';

/** Where a node publishes finality updates under `prefix`. */
export function finalityTopic(prefix: string = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}/chain/finality`;
}

/** What the view tells about chain grant records (GrantRegistry implements it). */
export interface ChainRecordSink {
  /**
   * Every proven record, also of grants the device does not hold: a revoked one becomes a
   * tombstone there when `vehicle` is the device's (issue 14, attack 2).
   */
  applyChainRecord(
    id: string,
    record: { vehicle: string; revoked: boolean; paid: bigint; toMs: number },
  ): void;
}

export interface ChainViewOptions {
  readonly checkpoint: Checkpoint;
  readonly uplink: Uplink;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Receives every proven grant record (the agent passes its GrantRegistry). */
  readonly grants?: ChainRecordSink;
  readonly topicPrefix?: string;
  /** Wall clock for the checkpoint's weak-subjectivity check (with `maxCheckpointAgeMs`). */
  readonly nowMs?: () => number;
  readonly maxCheckpointAgeMs?: number;
}

/** What the chain says of a grant, as of the final height that proved it. */
export type ChainGrantStatus =
  | { readonly state: 'unknown' }
  | { readonly state: 'absent'; readonly height: number }
  | {
      readonly state: 'valid' | 'revoked' | 'expired' | 'pending';
      readonly height: number;
      readonly grant: Grant;
    };

/** Counters the view declares. */
export const CHAIN_VIEW_COUNTERS = ['chain.updates', 'chain.refused', 'chain.grantRecords'] as const;

export class ChainView {
  readonly #o: ChainViewOptions;
  readonly #client: LightClient;
  readonly #topic: string;
  readonly #grants = new Map<string, { height: number; grant: Grant | null }>();
  #unfollow: (() => void) | undefined;
  #running = false;

  /** Throws LightError('STALE_CHECKPOINT') for a checkpoint older than the window. */
  constructor(options: ChainViewOptions) {
    this.#o = options;
    const clientOptions = {
      checkpoint: options.checkpoint,
      ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
      ...(options.maxCheckpointAgeMs === undefined ? {} : { maxCheckpointAgeMs: options.maxCheckpointAgeMs }),
    };
    this.#client = new LightClient(clientOptions);
    this.#topic = finalityTopic(options.topicPrefix);
    options.metrics.declare(...CHAIN_VIEW_COUNTERS);
    options.metrics.set('chain.finalHeight', this.#client.head.height);
  }

  /** The latest final height the view knows. */
  get finalHeight(): number {
    return this.#client.head.height;
  }

  /** The light client (its head, schedule and checkpoint). */
  get client(): LightClient {
    return this.#client;
  }

  /** Subscribes to finality updates (again after every reconnection). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unfollow = followTopic(
      this.#o.uplink,
      this.#topic,
      (payload) => this.receive(payload),
      (err) =>
        this.#o.logger.warn(
          { topic: this.#topic, err: err.message },
          'subscribing to finality updates failed',
        ),
    );
  }

  /** Stops listening; the uplink stays open. */
  stop(): void {
    this.#running = false;
    this.#unfollow?.();
    this.#unfollow = undefined;
  }

  /** Applies one update's bytes; returns the refusal, or undefined when it was applied. */
  receive(payload: Uint8Array): LightError | undefined {
    const { metrics, logger } = this.#o;
    let error: LightError;
    try {
      const r = this.#client.apply(decodeUpdate(payload));
      if (r.ok) {
        metrics.inc('chain.updates');
        metrics.set('chain.finalHeight', r.header.height);
        if (r.scheduleActivated)
          logger.info({ height: r.header.height }, 'a new producer schedule is active');
        for (const p of r.proven) this.#onProven(p.key, p.value, r.header.height);
        return undefined;
      }
      error = r.error;
    } catch (e) {
      if (!(e instanceof LightError)) throw e;
      error = e;
    }
    this.#refused(error);
    return error;
  }

  #refused(error: LightError): void {
    this.#o.metrics.inc('chain.refused');
    this.#o.metrics.inc(`chain.refused.${error.code satisfies LightErrorCode}`);
    this.#o.logger.warn(
      { code: error.code, height: error.height },
      `finality update refused: ${error.message}`,
    );
  }

  #onProven(key: string, value: Uint8Array | null, height: number): void {
    const prefix = stateKey.grant('');
    if (!key.startsWith(prefix)) return;
    let grant: Grant | null;
    try {
      grant = value === null ? null : decodeGrant(value);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.#refused(new LightError('MALFORMED', height, `proven '${key}': ${e.message}`));
      return;
    }
    this.#keep(key.slice(prefix.length), height, grant);
  }

  /** Keeps a proven grant record (unless a newer one is known) and hands it to the registry. */
  #keep(id: string, height: number, grant: Grant | null): void {
    const known = this.#grants.get(id);
    if (known !== undefined && known.height > height) return;
    this.#grants.set(id, { height, grant });
    this.#o.metrics.inc('chain.grantRecords');
    if (grant !== null)
      this.#o.grants?.applyChainRecord(id, {
        vehicle: grant.vehicle,
        revoked: grant.revoked,
        paid: grant.paid,
        toMs: grant.toMs,
      });
  }

  /**
   * Checks a state proof of grant `id` (the canonical stateProof bytes) against the final head or
   * a recent final header and keeps what it proves; returns the grant's status or the LightError.
   */
  checkGrant(id: string, proofBytes: Uint8Array, nowMs: number): ChainGrantStatus | LightError {
    let grant: Grant | null | LightError;
    let height = 0;
    try {
      const p = decodeStateProof(proofBytes);
      height = p.height;
      grant = this.#client.grant(id, p);
    } catch (e) {
      if (!(e instanceof LightError)) throw e;
      grant = e;
    }
    if (grant instanceof LightError) return grant;
    // At the proof's own height: an older proof never overwrites a newer record (a revocation).
    this.#keep(id, height, grant);
    return this.grantStatus(id, nowMs);
  }

  /** What the chain has proven of grant `id`, judged at `nowMs` (ms since the epoch). */
  grantStatus(id: string, nowMs: number): ChainGrantStatus {
    const known = this.#grants.get(id);
    if (known === undefined) return { state: 'unknown' };
    const { height, grant } = known;
    if (grant === null) return { state: 'absent', height };
    if (grant.revoked) return { state: 'revoked', height, grant };
    if (nowMs < grant.fromMs) return { state: 'pending', height, grant };
    if (nowMs >= grant.toMs) return { state: 'expired', height, grant };
    return { state: 'valid', height, grant };
  }
}
