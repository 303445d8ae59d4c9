/**
 * The finality publisher against a chain built with the real state machine (four producers, rounds
 * of 8 blocks, a schedule elected at block 6, decided by block 7 and run from block 16, two grants
 * and a revocation): a device's light client that applies every published update follows it through
 * the schedule change to the proven revocation; events that arrive together are coalesced, stepping
 * through the round before the change; a failed publish is retried; a change that no held final
 * point can show is not published; the node's checkpoint between decision and activation carries
 * the next schedule.
 */
import { describe, expect, it } from 'vitest';
import {
  activeSchedule,
  type Block,
  type ChainState,
  decodeGrant,
  decodeUpdate,
  type FinalityUpdate,
  headerId,
  LightClient,
  proveKey,
  type ScheduleChange,
  stateKey,
  stateRoot,
} from '../../../../chain/index.js';
import { type ChainSource, FinalityPublisher, nodeCheckpoint } from '../../../../node/device-link/index.js';
import type { FinalityEvent } from '../../../../node/runtime/index.js';
import {
  buildLightChain,
  checkpointAt,
  grantActivity,
  type LightChain,
  votesAt,
} from '../../../support/light-chain.js';

const ELECT_AT = 6;
const ROUND = 8;
const TOP = 20;
/** The first block of the round the new schedule runs in. */
const ACTIVE_AT = 16;
const REVOKE_AT = 10;

function makeChain(): { chain: LightChain; grantIds: string[] } {
  const g = grantActivity({ register: 2, grant: [3, 4], revoke: REVOKE_AT });
  const chain = buildLightChain({
    producers: 4,
    electAt: [ELECT_AT],
    height: TOP,
    roundBlocks: ROUND,
    extra: g.extra,
    accounts: g.accounts,
  });
  return { chain, grantIds: g.ids };
}

/** A ChainSource over a built chain, finalised by hand (slot = height). */
class FakeSource implements ChainSource {
  final = 1;
  readonly scheduleChanges: ScheduleChange[] = [];
  readonly #listeners = new Set<(e: FinalityEvent) => void>();
  constructor(readonly chain: LightChain) {}
  get lastFinal(): { height: number; slot: number; state: ChainState } {
    return { height: this.final, slot: this.final, state: this.chain.states[this.final]! };
  }
  block(h: number): Block | undefined {
    return h <= this.final ? this.chain.blocks[h] : undefined;
  }
  scheduleAt(slot: number): readonly string[] {
    return this.chain.active[slot]!;
  }
  onFinality(l: (e: FinalityEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  /** Makes blocks up to `h` final with a certificate for `h`, announcing the change as the engine does. */
  finalize(h: number): void {
    const from = this.final + 1;
    this.final = h;
    if (from <= ELECT_AT + 1 && h >= ELECT_AT + 1) {
      const b = this.chain.blocks[ELECT_AT]!;
      this.scheduleChanges.push({
        fromRound: 1,
        fromSlot: ROUND,
        schedule: this.chain.active[ROUND]!,
        decidedBy: {
          height: ELECT_AT,
          slot: ELECT_AT,
          blockId: headerId(b.header.header),
          stateRoot: stateRoot(this.chain.states[ELECT_AT]!),
        },
      });
    }
    const block = this.chain.blocks[h]!;
    const e: FinalityEvent = {
      certificate: {
        chainId: block.header.header.chainId,
        height: h,
        blockId: headerId(block.header.header),
        votes: votesAt(this.chain, h),
      },
      block,
      blocks: Array.from({ length: h - from + 1 }, (_, i) => {
        const b = this.chain.blocks[from + i]!.header.header;
        return {
          height: b.height,
          slot: b.height,
          blockId: headerId(b),
          producer: b.producer,
          timeMs: b.timeMs,
        };
      }),
    };
    for (const l of this.#listeners) l(e);
  }
}

const settle = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function rig(opts: { failFirst?: number; retryMs?: number } = {}) {
  const { chain, grantIds } = makeChain();
  const source = new FakeSource(chain);
  const sent: { topic: string; update: FinalityUpdate; retain: boolean }[] = [];
  const device = new LightClient({ checkpoint: checkpointAt(chain, 1) });
  const applied: number[] = [];
  const revoked = new Map<string, boolean>();
  let failures = opts.failFirst ?? 0;
  const counts = new Map<string, number>();
  const publisher = new FinalityPublisher({
    source,
    topicPrefix: 'qood/v1',
    retryMs: opts.retryMs ?? 5,
    logger: { info() {}, warn() {}, error() {} },
    count: (name, by = 1) => counts.set(name, (counts.get(name) ?? 0) + by),
    publish: async (topic, payload, o) => {
      if (failures > 0) {
        failures--;
        throw new Error('broker away');
      }
      const update = decodeUpdate(payload);
      sent.push({ topic, update, retain: o.retain });
      const r = device.apply(update);
      if (!r.ok) throw new Error(`device refused ${update.header.height}: ${r.error.message}`);
      applied.push(r.header.height);
      for (const p of r.proven)
        if (p.value !== null) revoked.set(p.key.slice('grant/'.length), decodeGrant(p.value).revoked);
    },
  });
  publisher.start();
  return { chain, grantIds, source, sent, device, applied, revoked, counts, publisher };
}

describe('FinalityPublisher', () => {
  it('a device follows every update through the schedule change to the proven revocation', async () => {
    const r = rig();
    for (let h = 2; h <= TOP; h++) {
      r.source.finalize(h);
      await settle();
    }
    expect(r.applied.at(-1)).toBe(TOP);
    expect(r.device.schedule).toEqual(r.chain.active[TOP]);
    expect(r.chain.active[TOP]).not.toEqual(r.chain.active[1]);
    // One update per final event, each with the schedule record of its block: from the first block
    // of round 1 it proves round 2's new schedule, and from block 16 the device follows it.
    expect(r.sent.every((s) => s.update.schedule !== null)).toBe(true);
    const recordAt = (h: number) => r.sent.find((s) => s.update.header.height === h)!.update.schedule!.record;
    expect(recordAt(ROUND - 1).next).toEqual(r.chain.active[1]);
    expect(recordAt(ROUND).next).toEqual(r.chain.active[ACTIVE_AT]);
    expect(recordAt(ACTIVE_AT)).toMatchObject({ activatedAt: ACTIVE_AT, round: 2 });
    expect(r.sent.map((s) => s.update.header.height)).toEqual([...Array(TOP - 1).keys()].map((i) => i + 2));
    expect(r.sent.every((s) => s.topic === 'qood/v1/chain/finality' && s.retain)).toBe(true);
    // Grants proven where they were made, and the revocation where it was final.
    const provenAt = (id: string) =>
      r.sent
        .filter((s) => s.update.proofs.some((p) => p.key === stateKey.grant(id)))
        .map((s) => s.update.header.height);
    expect(provenAt(r.grantIds[0]!)).toEqual([3, REVOKE_AT]);
    expect(provenAt(r.grantIds[1]!)).toEqual([4]);
    expect(r.revoked.get(r.grantIds[0]!)).toBe(true);
    expect(r.revoked.get(r.grantIds[1]!)).toBe(false);
    expect(r.counts.get('bridge.finality.scheduleChanges')).toBe(1);
    expect(r.publisher.publishedHeight).toBe(TOP);
    r.publisher.stop();
  });

  it('coalesces events that arrive together into one update with every touched grant', async () => {
    const r = rig();
    for (let h = 2; h <= 5; h++) r.source.finalize(h);
    await settle();
    expect(r.sent.map((s) => s.update.header.height)).toEqual([5]);
    expect(r.sent[0]!.update.proofs.map((p) => p.key).sort()).toEqual(
      r.grantIds.map((id) => stateKey.grant(id)).sort(),
    );
    for (let h = 6; h <= TOP; h++) r.source.finalize(h);
    await settle();
    // The newest final block of round 1 first (its record proves round 2's schedule), then the
    // newest final block, which the new schedule certified.
    expect(r.sent.map((s) => s.update.header.height)).toEqual([5, ACTIVE_AT - 1, TOP]);
    expect(r.counts.get('bridge.finality.scheduleChanges')).toBe(1);
    expect(r.device.head.height).toBe(TOP);
    expect(r.revoked.get(r.grantIds[0]!)).toBe(true);
    r.publisher.stop();
  });

  it('retries a failed publish and loses neither the height nor the proofs', async () => {
    const r = rig({ failFirst: 2 });
    r.source.finalize(2);
    r.source.finalize(3);
    await settle();
    expect(r.sent).toHaveLength(0);
    expect(r.counts.get('bridge.finality.errors')).toBe(1);
    await new Promise((res) => setTimeout(res, 50));
    await settle();
    expect(r.sent.map((s) => s.update.header.height)).toEqual([3]);
    expect(r.sent[0]!.update.proofs.map((p) => p.key)).toEqual([stateKey.grant(r.grantIds[0]!)]);
    expect(r.counts.get('bridge.finality.errors')).toBe(2);
    r.publisher.stop();
  });

  it('does not publish a change that no held final point can show devices, and restarts its mirror', async () => {
    // This rig's device stays behind the change and refuses the update after it, which the
    // publisher takes for a failed publish: no retry within the test, whatever the machine's speed.
    const r = rig({ retryMs: 60_000 });
    r.source.finalize(5);
    await settle();
    // One certificate makes everything up to block 17 final: no point of round 1 is held.
    r.source.finalize(ACTIVE_AT + 1);
    await settle();
    expect(r.sent.map((s) => s.update.header.height)).toEqual([5]);
    expect(r.counts.get('bridge.finality.refused')).toBe(1);
    expect(r.counts.get('bridge.finality.scheduleUnproven')).toBe(1);
    // The device needs a new checkpoint; the node's mirror starts again from its own.
    r.source.finalize(ACTIVE_AT + 2);
    await settle();
    expect(r.sent.map((s) => s.update.header.height)).toEqual([5, ACTIVE_AT + 2]);
    r.publisher.stop();
  });

  it("the node's checkpoint between a decision and its activation carries the next schedule", () => {
    const { chain } = makeChain();
    const source = new FakeSource(chain);
    source.finalize(ROUND + 1);
    const cp = nodeCheckpoint(source)!;
    expect(cp.header.height).toBe(ROUND + 1);
    expect(cp.schedule).toEqual(chain.active[1]);
    expect(cp.next).toEqual(chain.active[ACTIVE_AT]);
    expect(cp.next).not.toEqual(cp.schedule);
    expect(cp.rounds).toMatchObject({ slotMs: 500, roundSlots: ROUND });
    const c = new LightClient({ checkpoint: cp });
    const state = chain.states[ACTIVE_AT + 1]!;
    const u: FinalityUpdate = {
      header: chain.blocks[ACTIVE_AT + 1]!.header.header,
      votes: votesAt(chain, ACTIVE_AT + 1),
      schedule: { record: activeSchedule(state)!, proof: proveKey(state, stateKey.activeSchedule()).proof },
      proofs: [],
    };
    expect(c.apply(u).ok).toBe(true);
    expect(c.schedule).toEqual(chain.active[ACTIVE_AT]);
  });
});
