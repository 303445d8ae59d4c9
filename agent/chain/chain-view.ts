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
 *
 * Persistence and the trust window (issue 14, attack 8, "the agent stops for good after 30
 * days"): the light client's state is handed to `saveState` after accepted updates (at every
 * schedule change, otherwise at most every `saveIntervalMs`, and at stop), so a restart resumes
 * from the last trusted head instead of the configured checkpoint (light-state-file.ts). The
 * weak-subjectivity window is judged against the head the view holds, whenever it is asked: a head
 * older than `maxCheckpointAgeMs` makes the view stale, which DEGRADES and never throws. A stale
 * view refuses what needs the chain (finality updates, with the proofs of grant records they
 * carry, state proofs, and through `stale` the order desk's sales) and says so in `status()`;
 * everything else the agent does (collect, store, sync, the owner's local API and local
 * revocations) goes on. The way out is a fresh checkpoint (`qood node checkpoint`) and a restart.
 * (test/unit/agent/main/agent-chain.test.ts)
 */
import {
  type Account,
  type Checkpoint,
  CodecError,
  DEFAULT_TOPIC_PREFIX,
  decodeAccount,
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
  /** Wall clock, ms since the epoch, for the trust window (with `maxCheckpointAgeMs`); default Date.now. */
  readonly nowMs?: () => number;
  /** Weak-subjectivity window: a head older than this makes the view stale (default: never). */
  readonly maxCheckpointAgeMs?: number;
  /** Saves the light client's state (a checkpoint of its head); a throw is logged and counted. */
  readonly saveState?: (checkpoint: Checkpoint) => void;
  /** Least time between two saves without a schedule change, ms (default 60 s). */
  readonly saveIntervalMs?: number;
  /**
   * The device's own chain account (hex address) and what to do with its record when an update
   * proves it (the agent seeds its transaction counter from it: device-nonce.ts).
   */
  readonly deviceAccount?: {
    readonly address: string;
    readonly onProven: (account: Account, height: number) => void;
  };
  /** How the way out of a stale view is put to the user (a command line), for `status()`. */
  readonly freshCheckpointHint?: string;
}

/** What the view says of itself (`chain.status` on the local API, `qood status`). */
export interface ChainViewStatus {
  /** `following`: the head is within the trust window; `stale`: older, chain-proven input is refused. */
  readonly state: 'following' | 'stale';
  readonly finalHeight: number;
  /** The head's time, ms since the epoch. */
  readonly headTimeMs: number;
  readonly maxCheckpointAgeDays: number | null;
  /** One plain line for people. */
  readonly message: string;
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
export const CHAIN_VIEW_COUNTERS = [
  'chain.updates',
  'chain.refused',
  'chain.grantRecords',
  'chain.stateSaves',
  'chain.stateSaveErrors',
] as const;

export class ChainView {
  readonly #o: ChainViewOptions;
  readonly #client: LightClient;
  readonly #topic: string;
  readonly #grants = new Map<string, { height: number; grant: Grant | null }>();
  readonly #nowMs: () => number;
  #unfollow: (() => void) | undefined;
  #running = false;
  /** When the state was last saved (ms), and whether an accepted update is not saved yet. */
  #savedMs = Number.NEGATIVE_INFINITY;
  #unsaved = false;

  /**
   * Never throws for an old checkpoint: the view starts stale instead (see the module doc). Throws
   * LightError('MALFORMED') for a checkpoint with a bad schedule or round parameters.
   */
  constructor(options: ChainViewOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#client = new LightClient({ checkpoint: options.checkpoint });
    this.#topic = finalityTopic(options.topicPrefix);
    options.metrics.declare(...CHAIN_VIEW_COUNTERS);
    options.metrics.set('chain.finalHeight', this.#client.head.height);
    options.metrics.set('chain.stale', this.stale ? 1 : 0);
  }

  /**
   * True when the head is older than the trust window at the wall clock's now: the schedule that
   * certified it may have unbonded and could sign another history, so nothing proven from it is
   * taken until a fresh checkpoint is installed.
   */
  get stale(): boolean {
    const max = this.#o.maxCheckpointAgeMs;
    return max !== undefined && this.#nowMs() - this.#client.head.timeMs > max;
  }

  /** The view's state in a form for people and for `qood status --json`. */
  status(): ChainViewStatus {
    const head = this.#client.head;
    const max = this.#o.maxCheckpointAgeMs;
    const days = max === undefined ? null : max / 86_400_000;
    const at = new Date(head.timeMs).toISOString();
    if (!this.stale)
      return {
        state: 'following',
        finalHeight: head.height,
        headTimeMs: head.timeMs,
        maxCheckpointAgeDays: days,
        message: `following (final height ${head.height} at ${at})`,
      };
    const hint = this.#o.freshCheckpointHint ?? 'a new chain checkpoint, then a restart';
    return {
      state: 'stale',
      finalHeight: head.height,
      headTimeMs: head.timeMs,
      maxCheckpointAgeDays: days,
      message: `stale (last trusted height ${head.height} at ${at}, older than ${days} days; refusing chain-proven grants and orders until a fresh checkpoint is installed: ${hint})`,
    };
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

  /** Stops listening (saving an accepted head not saved yet); the uplink stays open. */
  stop(): void {
    this.#running = false;
    this.#unfollow?.();
    this.#unfollow = undefined;
    if (this.#unsaved) this.#save();
  }

  /** Applies one update's bytes; returns the refusal, or undefined when it was applied. */
  receive(payload: Uint8Array): LightError | undefined {
    const { metrics, logger } = this.#o;
    let error: LightError;
    try {
      // A stale head is not moved by updates: its schedule may have unbonded (see `stale`).
      const refusal = this.#staleRefusal();
      if (refusal !== undefined) {
        this.#refused(refusal);
        return refusal;
      }
      const r = this.#client.apply(decodeUpdate(payload));
      if (r.ok) {
        metrics.inc('chain.updates');
        metrics.set('chain.finalHeight', r.header.height);
        if (r.scheduleActivated)
          logger.info({ height: r.header.height }, 'a new producer schedule is active');
        for (const p of r.proven) this.#onProven(p.key, p.value, r.header.height);
        // Saved at once on a schedule change (a restart from an older state would refuse every
        // update of the new schedule), otherwise at most every saveIntervalMs.
        this.#unsaved = true;
        const every = this.#o.saveIntervalMs ?? 60_000;
        if (r.scheduleActivated || r.scheduleProven || this.#nowMs() - this.#savedMs >= every) this.#save();
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

  /** The refusal for chain input while the view is stale, or undefined while it is not. */
  #staleRefusal(): LightError | undefined {
    this.#o.metrics.set('chain.stale', this.stale ? 1 : 0);
    if (!this.stale) return undefined;
    const head = this.#client.head;
    return new LightError(
      'STALE_CHECKPOINT',
      head.height,
      `the last trusted head (${new Date(head.timeMs).toISOString()}) is older than the trust window; install a fresh checkpoint`,
    );
  }

  /** Hands the client's state to `saveState`; a failure is logged and counted, never thrown. */
  #save(): void {
    const save = this.#o.saveState;
    if (save === undefined) return;
    try {
      save(this.#client.checkpoint());
      this.#savedMs = this.#nowMs();
      this.#unsaved = false;
      this.#o.metrics.inc('chain.stateSaves');
    } catch (err) {
      this.#o.metrics.inc('chain.stateSaveErrors');
      this.#o.logger.warn({ err: (err as Error).message }, 'saving the light-client state failed');
    }
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
    const own = this.#o.deviceAccount;
    if (own !== undefined && key === stateKey.account(own.address)) {
      if (value === null) return; // never touched: the counter starts at 0 anyway
      try {
        own.onProven(decodeAccount(value), height);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        this.#refused(new LightError('MALFORMED', height, `proven '${key}': ${e.message}`));
      }
      return;
    }
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
    const refusal = this.#staleRefusal();
    if (refusal !== undefined) return refusal;
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
