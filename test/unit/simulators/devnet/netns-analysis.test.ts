/**
 * The analysis behind the namespace devnet test and bench (test/support/netns-devnet.ts), on
 * hand-made trace lines and polls: parsing `qood node --log-level trace` output and rejecting
 * garbage with its line, propagation latencies with each pair's netem delay, finality lags in a
 * window, conflicting final blocks, and blocks that crossed a partition.
 */
import { describe, expect, it } from 'vitest';
import {
  crossings,
  finalConflicts,
  finalityLags,
  type NetnsPlan,
  type NodeTraceLine,
  type PollSample,
  pairDelayMs,
  parseNodeTraces,
  propagation,
  quantile,
} from '../../../support/netns-devnet.js';

const PLAN: NetnsPlan = {
  nodes: 3,
  halfDelayMs: [25, 40, 55],
  warmupTimeoutMs: 1,
  settleMs: 0,
  steadyMs: 1,
  pollMs: 1,
};

const line = (o: object) => JSON.stringify({ level: 'debug', name: 'node', msg: 'node trace', ...o });

describe('parseNodeTraces', () => {
  it('keeps trace lines, skips other log lines, and counts garbage with its line number', () => {
    const log = [
      JSON.stringify({ level: 'info', msg: 'node ready' }),
      line({ trace: 'blockSent', atMs: 1000, id: 'b1', height: 1 }),
      'Segmentation fault',
      line({ trace: 'final', atMs: 1300, blocks: [{ height: 1, id: 'b1', timeMs: 1000 }] }),
      line({ trace: 'voteReceived', atMs: 1200 }),
      line({ trace: 'gossip', atMs: 1 }),
      '',
    ].join('\n');
    const p = parseNodeTraces(log, 2);
    expect(p.traces).toEqual([
      { kind: 'blockSent', node: 2, atMs: 1000, id: 'b1', height: 1 },
      { kind: 'final', node: 2, atMs: 1300, blocks: [{ height: 1, id: 'b1', timeMs: 1000 }] },
    ]);
    expect(p.badLines).toBe(3);
    expect(p.firstBad).toBe('node 2 log line 3: not JSON: Segmentation fault');
  });

  it('rejects a final line whose blocks lack a field', () => {
    const p = parseNodeTraces(line({ trace: 'final', atMs: 5, blocks: [{ height: 1, id: 'x' }] }), 0);
    expect(p.traces).toEqual([]);
    expect(p.firstBad).toBe('node 0 log line 1: final without blocks [{height, id, timeMs}]');
  });
});

describe('propagation, finality lag, conflicts, crossings', () => {
  const t = (kind: NodeTraceLine['kind'], node: number, atMs: number, id: string): NodeTraceLine =>
    kind === 'final'
      ? { kind, node, atMs, blocks: [{ height: 1, id, timeMs: Number(id) }] }
      : { kind, node, atMs, id, height: 1 };

  it('measures from the first send to each other node’s first receipt, with the pair delay as floor', () => {
    const traces = [
      t('blockSent', 0, 1000, 'b'),
      t('blockReceived', 1, 1070, 'b'),
      t('blockReceived', 2, 1130, 'b'),
      t('blockReceived', 2, 1090, 'b'), // an earlier copy (relayed) wins
      t('blockReceived', 0, 1200, 'b'), // its own block coming back: not a hop
      t('voteSent', 1, 1075, 'v'),
      t('voteReceived', 0, 1150, 'v'),
      t('blockSent', 0, 5000, 'late'), // outside the window
      t('blockReceived', 1, 5070, 'late'),
      t('blockReceived', 2, 900, 'unknown'), // never sent in the window
    ];
    const p = propagation(PLAN, traces, 0, 2000);
    expect(p.block).toEqual([
      { from: 0, to: 1, ms: 70, floorMs: 65 },
      { from: 0, to: 2, ms: 90, floorMs: 80 },
    ]);
    expect(p.vote).toEqual([{ from: 1, to: 0, ms: 75, floorMs: 65 }]);
    expect(pairDelayMs(PLAN, 1, 2)).toBe(95);
  });

  it('takes the finality lag of blocks whose slot started in the window, at every node', () => {
    const traces = [t('final', 0, 1300, '1000'), t('final', 1, 1450, '1000'), t('final', 0, 2600, '2000')];
    expect(finalityLags(traces, 1000, 2000)).toEqual([300, 450]);
  });

  it('finds two final ids at one height, in polls or at the end', () => {
    const poll = (node: number, finalHeight: number, finalId: string): PollSample => ({
      atMs: 0,
      node,
      finalHeight,
      finalId,
      headHeight: finalHeight,
      peers: 2,
    });
    const chain = ['a1', 'a2', 'a3'];
    expect(finalConflicts([poll(0, 2, 'a2'), poll(1, 3, 'a3'), poll(2, 0, '')], chain, ['a3', 'a3'])).toEqual(
      [],
    );
    expect(finalConflicts([poll(1, 2, 'b2')], chain, ['a3'])).toEqual([{ height: 2, ids: ['b2', 'a2'] }]);
    expect(finalConflicts([], chain, ['a3', 'b3'])).toEqual([{ height: 3, ids: ['a3', 'b3'] }]);
  });

  it('reports blocks that crossed a partition, and only those', () => {
    const traces = [
      t('blockSent', 2, 1000, 'x'),
      t('blockReceived', 0, 1100, 'x'), // crossed
      t('blockSent', 0, 1000, 'y'),
      t('blockReceived', 1, 1100, 'y'), // same side
      t('blockSent', 0, 1500, 'z'),
      t('blockReceived', 2, 2500, 'z'), // after the heal
    ];
    expect(crossings(PLAN, [2], traces, 900, 2000)).toEqual([{ id: 'x', from: 2, to: 0 }]);
  });

  it('quantile is the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(v, 0.5), quantile(v, 0.99), quantile(v, 1), quantile([], 0.5)]).toEqual([
      50,
      99,
      100,
      Number.NaN,
    ]);
  });
});
