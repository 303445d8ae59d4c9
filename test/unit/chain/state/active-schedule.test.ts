/**
 * The `sched/active` record (chain/state/active-schedule.ts) against consensus: five engines on a
 * simulated network (four producers and a standby, latency 100-300 ms) where a large holder votes
 * the standby in mid-round and out again later. Replaying the final chain through the state
 * machine, the record at every block names the schedule consensus produced that block under, and
 * the next round's schedule consensus then ran; only round boundaries change it.
 */
import { describe, expect, it } from 'vitest';
import {
  type ActiveSchedule,
  activeSchedule,
  applyBlock,
  type ChainState,
  electSchedule,
  producerForSlot,
  signTx,
  toHex,
  UNIT,
} from '../../../../chain/index.js';
import { DEVNET_CHAIN_ID, Devnet, devnetKey } from '../../../../simulators/devnet/index.js';

describe('the active-schedule record', () => {
  it('names, at every final block, the schedule consensus produced it under and the next round ran', () => {
    const seed = 'active-schedule';
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
      durationMs: 40_000,
      latencyMs: { min: 100, max: 300 },
      seed,
      txs: [
        { atMs: 6_100, tx: tx(0, 'stake', { amount: 50_000n * UNIT }) },
        { atMs: 6_100, tx: tx(1, 'vote', { producers: [standby] }) },
        { atMs: 20_300, tx: tx(2, 'vote', { producers: [] }) },
      ],
    });
    const r = net.run();
    expect(r.scheduleChanges).toHaveLength(2);
    const engine = net.nodes[0]!.engine;
    const p = net.genesis.params;
    const roundSlots = p.scheduleSize * p.blocksPerTurn;
    const changes = engine.scheduleChanges;
    /** The schedule consensus runs in `round` along the final chain. */
    const scheduleOfRound = (round: number): readonly string[] =>
      changes.filter((c) => c.fromRound <= round).at(-1)?.schedule ?? electSchedule(net.genesis);
    let state: ChainState = net.genesis;
    let prev: ActiveSchedule = activeSchedule(state)!;
    const records: { slot: number; record: ActiveSchedule }[] = [];
    for (let h = 1; h <= engine.lastFinal.height; h++) {
      const block = engine.finalBlockAt(h)!;
      const applied = applyBlock(state, block);
      if (!applied.ok) throw applied.error;
      const slot = (block.header.header.timeMs - net.genesis.timeMs) / p.slotMs;
      const round = Math.floor(slot / roundSlots);
      const record = activeSchedule(applied.state)!;
      expect(record.schedule, `block ${h}`).toEqual(scheduleOfRound(round));
      expect(producerForSlot(record.schedule, slot, p.blocksPerTurn)).toBe(block.header.header.producer);
      expect(record.next, `block ${h}`).toEqual(scheduleOfRound(round + 1));
      if (record !== prev && JSON.stringify(record) !== JSON.stringify(prev)) {
        // Written only at the first block of a round.
        expect(Math.floor((state.timeMs - net.genesis.timeMs) / p.slotMs / roundSlots)).toBeLessThan(round);
      }
      if (record.activatedAt === h) expect(record.round).toBe(round);
      records.push({ slot, record });
      prev = record;
      state = applied.state;
    }
    // Both changes were followed: the standby was in force, then out again.
    expect(new Set(records.map((x) => x.record.activatedAt)).size).toBe(3);
    expect(records.some((x) => x.record.schedule.includes(standby))).toBe(true);
    expect(records.at(-1)!.record.schedule).not.toContain(standby);
  });
});
