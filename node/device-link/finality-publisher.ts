/**
 * `FinalityPublisher`: on the node's finality events, publishes on `<prefix>/chain/finality`
 * (retained, QoS 1) the light-client update (chain/light/codec.ts) that takes a device from the
 * last published final height to the new one, with state proofs of every grant record the newly
 * final blocks touched (`grant`, `revoke`, `listenerPay`), so devices learn revocations.
 *
 * Schedules: every update carries the `sched/active` record of its state (the schedule consensus
 * runs in that round and the next one, chain/state/active-schedule.ts) with its proof; a device
 * follows a new schedule only that way, and needs it in any update of a later round than its head. A device can check a header of the round after its head's, or a later one under a schedule
 * it already trusts: when the newest final point is beyond that, the publisher first sends the
 * newest final point it holds of the round after the devices' head, round by round, so a schedule
 * change always reaches devices before a header it certifies. It therefore keeps the newest point
 * of each round above the devices' head.
 *
 * Every update is applied first to a mirror light client that starts at the node's checkpoint, so
 * the node never publishes what a device would refuse; the mirror advances only once the broker
 * acknowledged. Rate: at most one update per finality event plus one per round stepped through;
 * events that arrive while a publish is in flight (or in one turn of the event loop) are coalesced
 * into the next update, with the union of their grant keys. Proofs beyond MAX_UPDATE_PROOFS (or the
 * update's byte limit) wait for the next update. A failed publish is retried after `retryMs`.
 */
import {
  activeSchedule,
  type Block,
  type BlockHeader,
  type ChainState,
  encodeUpdate,
  type FinalityUpdate,
  type FinalityVote,
  LightClient,
  MAX_UPDATE_BYTES,
  MAX_UPDATE_PROOFS,
  proveKey,
  roundParams,
  type ScheduleProof,
  stateKey,
  toHex,
} from '../../chain/index.js';
import type { FinalityEvent } from '../runtime/full-node.js';
import { nodeCheckpoint } from './checkpoint.js';
import type { DeviceLinkCount, DeviceLinkLogger } from './counters.js';
import type { ChainSource } from './source.js';

/** Where a node publishes finality updates under `prefix` (the agent's ChainView subscribes here). */
export function finalityTopic(prefix: string): string {
  return `${prefix}/chain/finality`;
}

/** The grant state keys a block's transactions touch. */
export function touchedGrantKeys(block: Block): string[] {
  const keys: string[] = [];
  for (const t of block.txs) {
    const tx = t.tx;
    if (tx.kind === 'grant') keys.push(stateKey.grant(toHex(t.id)));
    else if (tx.kind === 'revoke' || tx.kind === 'listenerPay') keys.push(stateKey.grant(tx.body.grant));
  }
  return keys;
}

/** A final block with its certificate's votes and the state after it. */
interface FinalPoint {
  readonly header: BlockHeader;
  readonly slot: number;
  readonly votes: readonly FinalityVote[];
  readonly state: ChainState;
}

/** An update ready to publish, with the grant keys it proves and whether it activates a new schedule. */
interface Planned {
  readonly update: FinalityUpdate;
  readonly bytes: Uint8Array;
  readonly keys: readonly string[];
  readonly activates: boolean;
}

/** Final points kept above the mirror's head besides the newest of each round (the oldest go first). */
const KEEP_POINTS = 64;

export interface FinalityPublisherOptions {
  readonly source: ChainSource;
  readonly publish: (topic: string, payload: Uint8Array, options: { retain: boolean }) => Promise<void>;
  readonly topicPrefix: string;
  readonly logger: DeviceLinkLogger;
  readonly count: DeviceLinkCount;
  /** Delay before a failed publish is tried again, ms (default 1000). */
  readonly retryMs?: number;
}

export class FinalityPublisher {
  readonly #o: FinalityPublisherOptions;
  readonly #topic: string;
  #mirror: LightClient | undefined;
  /** Final points above the mirror's head, by height. */
  readonly #points = new Map<number, FinalPoint>();
  /** Grant keys whose proofs are still to be sent. */
  readonly #keys = new Set<string>();
  #busy = false;
  #scheduled = false;
  #retry: NodeJS.Timeout | undefined;
  #off: (() => void) | undefined;
  #published = 0;

  constructor(options: FinalityPublisherOptions) {
    this.#o = options;
    this.#topic = finalityTopic(options.topicPrefix);
  }

  /** The final height devices were last sent (0 before the first update). */
  get publishedHeight(): number {
    return this.#published;
  }

  /**
   * Asks for a proof of `key` in the next update. The device link asks for the account of every
   * device that queues a transaction: a device whose store was recreated learns its chain nonce from
   * it instead of numbering its records from 0 again (agent/chain/device-nonce.ts).
   */
  prove(key: string): void {
    this.#keys.add(key);
  }

  /** Proofs waiting for the next update. */
  get pendingProofs(): number {
    return this.#keys.size;
  }

  /** Starts the mirror at the node's checkpoint and listens to finality events. */
  start(): void {
    if (this.#off !== undefined) return;
    const { source } = this.#o;
    const cp = nodeCheckpoint(source);
    if (cp !== undefined) this.#mirror = new LightClient({ checkpoint: cp });
    this.#off = source.onFinality((e) => this.#onFinal(e));
  }

  /** Stops listening; an update in flight completes. */
  stop(): void {
    this.#off?.();
    this.#off = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #onFinal(e: FinalityEvent): void {
    const { source } = this.#o;
    for (const f of e.blocks) {
      const b = source.block(f.height);
      if (b !== undefined) for (const k of touchedGrantKeys(b)) this.#keys.add(k);
    }
    const fin = source.lastFinal;
    // The state after a final block is held only while it is the last final one.
    if (fin.height === e.certificate.height)
      this.#points.set(fin.height, {
        header: e.block.header.header,
        slot: fin.slot,
        votes: e.certificate.votes,
        state: fin.state,
      });
    this.#prune();
    this.#schedule();
  }

  #prune(): void {
    const head = this.#mirror?.head.height ?? 0;
    for (const h of [...this.#points.keys()]) if (h <= head) this.#points.delete(h);
    const heights = [...this.#points.keys()].sort((a, b) => a - b);
    // The newest point of each round is a step devices may need to follow a schedule change.
    const newestOfRound = new Map<number, number>();
    for (const h of heights) newestOfRound.set(this.#roundOf(this.#points.get(h)!), h);
    const needed = new Set(newestOfRound.values());
    let extra = heights.length - KEEP_POINTS;
    for (const h of heights) {
      if (extra > 0 && !needed.has(h)) {
        this.#points.delete(h);
        extra--;
      }
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#busy || this.#off === undefined) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /** Plans the updates from the mirror's head to the newest final point, checks them on a copy of the mirror, publishes. */
  async #flush(): Promise<void> {
    if (this.#busy || this.#off === undefined) return;
    const heights = [...this.#points.keys()].sort((a, b) => a - b);
    const top = heights.at(-1);
    if (top === undefined) return;
    const latest = this.#points.get(top)!;
    const plan = this.#plan(latest, heights);
    if (plan === undefined || plan.length === 0) return;
    this.#busy = true;
    let done = 0;
    try {
      for (const u of plan) {
        await this.#o.publish(this.#topic, u.bytes, { retain: true });
        done++;
        // Devices have it now: the mirror follows (it was checked on the copy).
        if (this.#mirror === undefined) this.#mirror = this.#mirrorAt(latest);
        else this.#mirror.apply(u.update);
        this.#published = u.update.header.height;
        for (const k of u.keys) this.#keys.delete(k);
        this.#o.count('bridge.finality.published');
        this.#o.count('bridge.finality.proofs', u.keys.length);
        if (u.activates) {
          const record = u.update.schedule!.record;
          this.#o.count('bridge.finality.scheduleChanges');
          this.#o.logger.info(
            { height: this.#published, round: record.round, producers: record.schedule.length },
            'published a producer schedule change to devices',
          );
        }
      }
    } catch (err) {
      this.#o.count('bridge.finality.errors');
      this.#o.logger.warn({ err: (err as Error).message }, 'publishing a finality update failed; will retry');
    } finally {
      this.#busy = false;
    }
    this.#prune();
    if (done < plan.length) {
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#schedule();
      }, this.#o.retryMs ?? 1000);
    } else if (heights.length > 0 && [...this.#points.keys()].some((h) => h > this.#published))
      this.#schedule();
  }

  /** The updates to send, each checked on a copy of the mirror; undefined when the mirror had to restart. */
  #plan(latest: FinalPoint, heights: readonly number[]): Planned[] | undefined {
    const top = latest.header.height;
    if (this.#mirror === undefined) {
      // Only genesis was final at start: the first final block starts the mirror.
      return [this.#withProofs(latest, this.#base(latest))];
    }
    const plan: Planned[] = [];
    const trial = new LightClient({ checkpoint: this.#mirror.checkpoint() });
    for (;;) {
      if (top <= trial.head.height) return plan;
      const p = this.#withProofs(latest, this.#base(latest));
      const r = trial.apply(p.update);
      if (r.ok) {
        plan.push({ ...p, activates: r.scheduleActivated });
        return plan;
      }
      // Devices cannot check the newest point yet: step into the round after their head's first.
      const step = this.#stepAfter(trial, heights, top);
      const su = step === undefined ? undefined : this.#base(step);
      const sr = su === undefined ? undefined : trial.apply({ ...su, proofs: [] });
      if (su === undefined || sr === undefined || !sr.ok) {
        this.#o.count('bridge.finality.refused');
        if (step === undefined) this.#o.count('bridge.finality.scheduleUnproven');
        this.#o.logger.error(
          {
            height: top,
            code: r.error.code,
            reason: r.error.message,
            step: step?.header.height,
            stepReason: sr !== undefined && !sr.ok ? sr.error.message : undefined,
          },
          'the finality update does not check against what devices were sent; restarting from the node checkpoint (devices behind it need a new checkpoint)',
        );
        const cp = nodeCheckpoint(this.#o.source);
        if (cp !== undefined) this.#mirror = new LightClient({ checkpoint: cp });
        this.#prune();
        return undefined;
      }
      const update = { ...su, proofs: [] };
      plan.push({ update, bytes: encodeUpdate(update), keys: [], activates: sr.scheduleActivated });
    }
  }

  /**
   * The newest held point below `top` in the round after `trial`'s head (the lowest later round when
   * that one has none), or undefined when there is none.
   */
  #stepAfter(trial: LightClient, heights: readonly number[], top: number): FinalPoint | undefined {
    const headRound = trial.roundOf(trial.head.timeMs);
    let best: FinalPoint | undefined;
    let bestRound = Number.POSITIVE_INFINITY;
    for (const h of heights) {
      if (h <= trial.head.height || h >= top) continue;
      const p = this.#points.get(h)!;
      const round = trial.roundOf(p.header.timeMs);
      if (round <= headRound || round > bestRound) continue;
      bestRound = round;
      best = p;
    }
    return best;
  }

  /**
   * An update of point `p` without proofs, always with its schedule record: a device needs it in
   * any update of a later round than its own head, and a device's head is not the mirror's (it
   * may have been away, and the retained topic keeps only the newest update). About 1.5 KB with
   * 21 producers, next to about 2 KB of votes.
   */
  #base(p: FinalPoint): Omit<FinalityUpdate, 'proofs'> {
    return { header: p.header, votes: p.votes, schedule: scheduleProof(p.state) };
  }

  #roundOf(p: FinalPoint): number {
    const m = this.#mirror;
    return m === undefined ? 0 : m.roundOf(p.header.timeMs);
  }

  /** The update with as many pending grant proofs as fit (sorted keys, at most MAX_UPDATE_PROOFS and the byte limit). */
  #withProofs(
    at: FinalPoint,
    base: Omit<FinalityUpdate, 'proofs'>,
  ): Omit<Planned, 'activates'> & { activates: false } {
    let keys = [...this.#keys].sort().slice(0, MAX_UPDATE_PROOFS);
    for (;;) {
      const update: FinalityUpdate = {
        ...base,
        proofs: keys.map((k) => {
          const p = proveKey(at.state, k);
          return { key: k, value: p.value, proof: p.proof };
        }),
      };
      const bytes = encodeUpdate(update);
      if (bytes.length <= MAX_UPDATE_BYTES || keys.length === 0)
        return { update, bytes, keys, activates: false };
      keys = keys.slice(0, Math.floor(keys.length / 2));
    }
  }

  #mirrorAt(p: FinalPoint): LightClient {
    const cp = nodeCheckpoint(this.#o.source);
    if (cp !== undefined && cp.header.height === p.header.height) return new LightClient({ checkpoint: cp });
    const record = activeSchedule(p.state)!;
    return new LightClient({
      checkpoint: {
        header: p.header,
        schedule: [...record.schedule],
        next: [...record.next],
        rounds: roundParams(p.state),
      },
    });
  }
}

/** The `sched/active` record of a state with its proof. */
function scheduleProof(state: ChainState): ScheduleProof | null {
  const record = activeSchedule(state);
  if (record === undefined) return null;
  return { record, proof: proveKey(state, stateKey.activeSchedule()).proof };
}
