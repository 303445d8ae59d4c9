/**
 * The DPoS engine in the deterministic devnet: 21 producers with 100-300 ms latency for ten simulated
 * minutes, an 11/10 partition, 6 and 7 crashed producers, a double-signing producer, schedule changes
 * voted mid-run, and the same seed replaying the same run.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  getRecord,
  headerId,
  type Producer,
  signTx,
  stateKey,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import {
  DEVNET_CHAIN_ID,
  Devnet,
  type DevnetOptions,
  devnetKey,
  finalHeightAt,
  runDevnet,
} from '../../../../simulators/devnet/index.js';

// Every run here is a CPU-bound simulation on virtual time: nothing waits on a clock, so wall time only
// says how busy the machine is (the ten simulated minutes take about 30 s of CPU, and 60 to 90 s of
// wall time on two cores shared with other test runs). The bound ends a hung run; it judges no speed.
vi.setConfig({ testTimeout: 300_000 });

const LATENCY = { min: 100, max: 300 };
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The producers of the final chain of `net`'s first honest node, by slot. */
function finalChain(net: Devnet): { slot: number; producer: string }[] {
  const e = net.nodes[0]!.engine;
  const out: { slot: number; producer: string }[] = [];
  for (let h = 1; h <= e.lastFinal.height; h++) {
    const b = e.finalBlockAt(h)!;
    out.push({
      slot: (b.header.header.timeMs - net.genesis.timeMs) / 500,
      producer: b.header.header.producer,
    });
  }
  return out;
}

describe('21 producers, 100-300 ms latency', () => {
  it('finalize every block within 1.5 s (p99) for ten simulated minutes, never two conflicting final blocks', () => {
    const r = runDevnet({ producers: 21, durationMs: 600_000, latencyMs: LATENCY, seed: 'ten-minutes' });
    expect(r.conflictingFinalBlocks).toBe(0);
    expect(r.finalityLagMs.p99).toBeLessThanOrEqual(1_500);
    expect(r.finalityLagMs.p50).toBeLessThan(1_000);
    // Every slot but the last one or two (still in flight at the end) holds a final block.
    expect(r.blocks).toBeGreaterThanOrEqual(r.slots - 2);
    expect(r.missedSlots).toBe(0);
    expect(r.finalHeights.max - r.finalHeights.min).toBeLessThanOrEqual(1);
    expect(r.finalityLagMs.samples).toBeGreaterThan(21 * 1190);
    console.log(
      `21 producers, 10 min: ${r.blocks} blocks, finality lag p50 ${r.finalityLagMs.p50} ms p99 ${r.finalityLagMs.p99} ms, ${Math.round(r.wall.simulatedSecondsPerWallSecond)} simulated s per wall s`,
    );
  });

  it('with 2% message loss still finalize, fetching lost blocks from voters', () => {
    const r = runDevnet({
      producers: 21,
      durationMs: 120_000,
      latencyMs: LATENCY,
      seed: 'lossy',
      loss: 0.02,
    });
    expect(r.messages.lost).toBeGreaterThan(0);
    expect(r.conflictingFinalBlocks).toBe(0);
    // A producer that lost its predecessor's block builds beside it: a few slots end up missed.
    expect(r.blocks).toBeGreaterThanOrEqual(Math.floor(r.slots * 0.93));
    expect(r.finalityLagMs.p99).toBeLessThanOrEqual(1_500);
  });
});

describe('an 11/10 partition', () => {
  const opts: DevnetOptions = {
    producers: 21,
    durationMs: 150_000,
    latencyMs: LATENCY,
    seed: 'split',
    partitions: [{ groups: [ids(0, 11), ids(11, 21)], fromMs: 30_000, toMs: 90_000 }],
  };
  const net = new Devnet(opts);
  const r = net.run();

  it('finalizes nothing on either side while it lasts', () => {
    for (const n of net.nodes) {
      const p = net.options.partitions![0]!;
      // Blocks made just before the split may still finalize in its first second.
      expect(finalHeightAt(progressOf(net, n.index), p.toMs - 1)).toBe(
        finalHeightAt(progressOf(net, n.index), p.fromMs + 1_000),
      );
    }
  });

  it('after healing, every node converges on one final chain that keeps growing', () => {
    expect(r.conflictingFinalBlocks).toBe(0);
    expect(r.finalHeights.min).toBe(r.finalHeights.max);
    const heal = net.options.partitions![0]!.toMs;
    for (const n of net.nodes) expect(n.engine.lastFinal.height).toBeGreaterThan(heal / 500);
    const head = toHex(net.nodes[0]!.engine.lastFinal.blockId);
    for (const n of net.nodes) expect(toHex(n.engine.lastFinal.blockId)).toBe(head);
    // The minority's slots during the split are missed; the majority's chain won.
    // 120 slots of split, the minority's 10 of every 21 lost: about 57.
    expect(r.missedSlots).toBeGreaterThan(45);
    expect(r.missedSlots).toBeLessThan(70);
  });
});

/** The finality events of node `i`: [virtual ms, final height]. */
const progressOf = (net: Devnet, i: number) => net.finalProgress(i);

describe('crashed producers', () => {
  it('6 of 21 down: finality continues, and the six catch up over more blocks than one answer holds', () => {
    const net = new Devnet({
      producers: 21,
      durationMs: 200_000,
      latencyMs: LATENCY,
      seed: 'crash-6',
      crashes: [{ nodes: ids(0, 6), fromMs: 20_000, toMs: 170_000 }],
    });
    const r = net.run();
    const p = progressOf(net, 10);
    // Final height keeps rising through the outage, about 15 of every 21 slots.
    const during = finalHeightAt(p, 169_000) - finalHeightAt(p, 21_000);
    expect(during).toBeGreaterThan(Math.floor((148_000 / 500) * (15 / 21)) - 6);
    expect(r.finalityLagMs.p99).toBeLessThanOrEqual(1_500);
    expect(r.conflictingFinalBlocks).toBe(0);
    // The ones that come back fetch ~210 blocks (answers hold 256) and finalize with the rest
    // (a block may still be in flight at the end).
    expect(r.finalHeights.max - r.finalHeights.min).toBeLessThanOrEqual(1);
    for (const i of ids(0, 6))
      expect(finalHeightAt(progressOf(net, i), 199_999)).toBeGreaterThanOrEqual(r.blocks - 2);
  });

  it('7 of 21 down: finality stops, and resumes when they return', () => {
    const net = new Devnet({
      producers: 21,
      durationMs: 90_000,
      latencyMs: LATENCY,
      seed: 'crash-7',
      crashes: [{ nodes: ids(0, 7), fromMs: 20_000, toMs: 60_000 }],
    });
    const r = net.run();
    for (const i of ids(7, 21)) {
      const p = progressOf(net, i);
      expect(finalHeightAt(p, 59_999)).toBe(finalHeightAt(p, 21_000));
      expect(finalHeightAt(p, 65_000)).toBeGreaterThan(finalHeightAt(p, 59_999) + 50);
    }
    expect(r.conflictingFinalBlocks).toBe(0);
    expect(r.finalHeights.min).toBe(r.finalHeights.max);
    // 80 slots down, 7 of every 21 missed: about 27 of 180.
    expect(r.blocks).toBeGreaterThan(180 - 27 - 10);
  });
});

describe('a byzantine producer', () => {
  it('that double-signs and withholds its votes is caught by every honest node and penalised on chain', () => {
    const net = new Devnet({
      producers: 21,
      durationMs: 120_000,
      latencyMs: LATENCY,
      seed: 'byzantine',
      byzantine: [{ node: 20, doubleSign: true, withholdVotes: true }],
    });
    const r = net.run();
    const bad = net.nodes[20]!.address;
    const signs = r.evidence.filter((e) => e.kind === 'doubleSign');
    expect(signs.length).toBeGreaterThanOrEqual(1);
    expect(signs[0]!.producer).toBe(bad.slice(0, 16));
    expect(signs[0]!.nodes).toBeGreaterThanOrEqual(10);
    const pen = r.penalised[0]!;
    expect(pen.jailed).toBe(true);
    // 10% of its stake burnt (doubleSignPenaltyBps 1000).
    expect(BigInt(pen.stakedAfter)).toBe(BigInt(pen.stakedBefore) - BigInt(pen.stakedBefore) / 10n);
    // It leaves the schedule at a round boundary, after which it makes no block.
    expect(r.scheduleChanges[0]!.removed).toEqual([bad.slice(0, 16)]);
    const from = r.scheduleChanges[0]!.fromSlot;
    expect(finalChain(net).filter((b) => b.slot >= from && b.producer === bad)).toEqual([]);
    expect(r.conflictingFinalBlocks).toBe(0);
    expect(r.finalityLagMs.p99).toBeLessThanOrEqual(1_500);
  });
});

describe('schedule changes', () => {
  it('take effect only at a round boundary after the block deciding them is final', () => {
    const seed = 'schedule';
    const whale = devnetKey(seed, 'whale');
    const standby = toHex(devnetKey(seed, 'producer/4').publicKey);
    const tx = (nonce: number, kind: 'stake' | 'vote', body: object) =>
      signTx(
        { chainId: DEVNET_CHAIN_ID, kind, sender: toHex(whale.publicKey), nonce, fee: 0n, body } as never,
        whale,
      );
    const net = new Devnet({
      producers: 4,
      standby: 1,
      durationMs: 60_000,
      latencyMs: LATENCY,
      seed,
      txs: [
        { atMs: 10_100, tx: tx(0, 'stake', { amount: 50_000n * UNIT }) },
        { atMs: 10_100, tx: tx(1, 'vote', { producers: [standby] }) },
        { atMs: 30_300, tx: tx(2, 'vote', { producers: [] }) },
      ],
    });
    const r = net.run();
    expect(r.conflictingFinalBlocks).toBe(0);
    expect(r.scheduleChanges).toHaveLength(2);
    const out = toHex(devnetKey(seed, 'producer/3').publicKey);
    const [join, leave] = r.scheduleChanges as [(typeof r.scheduleChanges)[0], (typeof r.scheduleChanges)[0]];
    expect(join.added).toEqual([standby.slice(0, 16)]);
    expect(join.removed).toEqual([out.slice(0, 16)]);
    expect(leave.added).toEqual([out.slice(0, 16)]);
    const chain = finalChain(net);
    const roundSlots = 4 * 2;
    for (const c of [join, leave]) {
      // Every node adopted it, at a round boundary, decided by the last final block of an earlier round,
      // learned before the round began and after that block's slot.
      expect(c.nodes).toBe(5);
      expect(c.fromSlot % roundSlots).toBe(0);
      expect(Math.floor(c.decidedBySlot / roundSlots)).toBeLessThanOrEqual(c.fromRound - 2);
      expect(c.firstAtMs).toBeGreaterThan(c.decidedBySlot * 500);
      expect(c.firstAtMs).toBeLessThan(c.fromSlot * 500);
      const next = chain.find((b) => b.slot > c.decidedBySlot)!;
      expect(Math.floor(next.slot / roundSlots)).toBeGreaterThan(Math.floor(c.decidedBySlot / roundSlots));
    }
    // The vote landed mid-round, yet the standby produced only inside [join, leave).
    const voteBlock = chain.find((b) => b.slot >= 10_100 / 500)!;
    expect(voteBlock.slot % roundSlots).not.toBe(0);
    const byStandby = chain.filter((b) => b.producer === standby).map((b) => b.slot);
    expect(byStandby.length).toBeGreaterThan(5);
    expect(Math.min(...byStandby)).toBeGreaterThanOrEqual(join.fromSlot);
    expect(Math.max(...byStandby)).toBeLessThan(leave.fromSlot);
    expect(
      chain.filter((b) => b.producer === out && b.slot >= join.fromSlot && b.slot < leave.fromSlot),
    ).toEqual([]);
    const state = net.nodes[0]!.engine.lastFinal.state;
    expect(getRecord<Producer>(state.tree, stateKey.producer(standby))!.votes).toBe(996n * UNIT);
    // Finality went on across both changes.
    expect(r.blocks).toBeGreaterThanOrEqual(r.slots - 2);
  });
});

describe('determinism', () => {
  it('the same seed replays the same run byte for byte; another seed does not', () => {
    const opts: DevnetOptions = {
      producers: 21,
      durationMs: 40_000,
      latencyMs: LATENCY,
      seed: 'replay',
      loss: 0.02,
      byzantine: [{ node: 3, doubleSign: true }],
      crashes: [{ nodes: [5], fromMs: 10_000, toMs: 20_000 }],
    };
    const strip = ({ wall: _w, ...rest }: ReturnType<typeof runDevnet>) => JSON.stringify(rest);
    const a = runDevnet(opts);
    const b = runDevnet(opts);
    expect(b.finalHeadHash).toBe(a.finalHeadHash);
    expect(strip(b)).toBe(strip(a));
    const c = runDevnet({ ...opts, seed: 'other' });
    expect(c.finalHeadHash).not.toBe(a.finalHeadHash);
  });
});

describe('random faults', () => {
  it('never make two nodes finalize different blocks at one height (4 and 7 producers, up to f byzantine)', () => {
    const run = fc.record({
      producers: fc.constantFrom(4, 7),
      seed: fc.string({ minLength: 1, maxLength: 8 }),
      loss: fc.constantFrom(0, 0.05, 0.2),
      split: fc.integer({ min: 1, max: 3 }),
      splitFrom: fc.integer({ min: 0, max: 20 }),
      splitFor: fc.integer({ min: 1, max: 20 }),
      crashFrom: fc.integer({ min: 0, max: 30 }),
      byzantine: fc.boolean(),
    });
    fc.assert(
      fc.property(run, (x) => {
        const f = Math.floor((x.producers - 1) / 3);
        const net = new Devnet({
          producers: x.producers,
          durationMs: 40_000,
          latencyMs: { min: 50, max: 400 },
          seed: x.seed,
          loss: x.loss,
          partitions: [
            {
              groups: [ids(0, x.split), ids(x.split, x.producers)],
              fromMs: x.splitFrom * 1000,
              toMs: (x.splitFrom + x.splitFor) * 1000,
            },
          ],
          crashes: [
            { nodes: [x.producers - 2], fromMs: x.crashFrom * 1000, toMs: x.crashFrom * 1000 + 5_000 },
          ],
          ...(x.byzantine && f > 0
            ? {
                byzantine: ids(x.producers - f, x.producers).map((node) => ({
                  node,
                  doubleSign: true,
                  withholdVotes: true,
                })),
              }
            : {}),
        });
        const r = net.run();
        expect(r.conflictingFinalBlocks).toBe(0);
        // Every pair of nodes agrees on the final chain up to the lower of their final heights.
        const low = Math.min(...net.nodes.map((n) => n.engine.lastFinal.height));
        const at = (i: number) => {
          const b = net.nodes[i]!.engine.finalBlockAt(low);
          return b === undefined ? 'genesis' : toHex(headerId(b.header.header));
        };
        for (const n of net.nodes) expect(at(n.index)).toBe(at(0));
      }),
      { numRuns: 12, seed: 20261125 },
    );
  });
});
