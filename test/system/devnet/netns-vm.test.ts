/**
 * The 4-producer devnet in network namespaces, inside the test VM (this host's kernel has no
 * sch_netem): one namespace per `qood node` process, veth links to a bridge, `tc netem` delays of
 * 65 to 125 ms one way, and a partition into two pairs (no side has the 3 votes of a quorum). The
 * VM probe (test/support/vm/netns-devnet-probe.ts) drives the run and records every node's status
 * and trace lines; this file asserts on them:
 * - the netem links delay packets as configured (ping round trips);
 * - finality lag (slot start to final, at every node) stays within 1.5 s at p99 over a 20 s window
 *   (with KVM; in an emulated VM, where four nodes keep both virtual CPUs busy and the CPU rather
 *   than the network sets the lag, within 1.5 s at p90);
 * - the partition holds (no block crosses it), heads keep growing on both sides while no node's
 *   final height moves (after a grace for the votes already on the wire);
 * - no two final blocks ever conflict, before, during or after the partition;
 * - after the heal finality resumes on every node within 30 s and all end on one final chain.
 */
import { beforeAll, expect, it } from 'vitest';
import {
  crossings,
  finalConflicts,
  finalityLags,
  type NetnsPlan,
  type NetnsResult,
  type PollSample,
  pairDelayMs,
  quantile,
} from '../../support/netns-devnet.js';
import { NETNS_NEEDS, type NetnsRun, runNetnsDevnet } from '../../support/netns-vm-run.js';
import { describeSystem } from '../../support/system.js';

/** Node i's link adds HALF[i] each way: pairs see 65 to 125 ms one way. */
const HALF = [25, 40, 55, 70];
const SIDE = [2, 3];
const PLAN: NetnsPlan = {
  nodes: 4,
  halfDelayMs: HALF,
  // Four node processes start and connect in an emulated VM on a host that runs other tests.
  warmupTimeoutMs: 240_000,
  settleMs: 5_000,
  steadyMs: 20_000,
  pollMs: 300,
  partition: { side: SIDE, holdMs: 10_000, healTimeoutMs: 30_000, afterMs: 5_000 },
};
/** Votes already on the wire when the partition starts may still complete a certificate. */
const GRACE_MS = 1_500;

describeSystem('the 4-node devnet in network namespaces with netem delay (qemu VM)', [...NETNS_NEEDS], () => {
  let run: NetnsRun;
  let r: NetnsResult;
  const phase = (k: keyof NetnsResult['phases']): number => {
    const v = r.phases[k];
    if (v === undefined) throw new Error(`the run did not reach phase ${k}: ${r.errors.join('; ')}`);
    return v;
  };
  /** Node i's last poll at or before `atMs`. */
  const at = (i: number, atMs: number): PollSample => {
    const s = r.polls.filter((p) => p.node === i && p.atMs <= atMs).at(-1);
    if (s === undefined) throw new Error(`no poll of node ${i} before ${atMs}`);
    return s;
  };

  beforeAll(async () => {
    run = await runNetnsDevnet(PLAN, 420_000);
    if (run.result === undefined)
      throw new Error(
        `the VM probe wrote no result (rc ${run.vm.rc}):\n${run.vm.out}\n--- console ---\n${run.vm.console.slice(-2000)}`,
      );
    r = run.result;
  }, 1_500_000); // VMs run one at a time: this may wait for the others

  it('runs every phase with every node up, and every trace line parses', () => {
    expect(r.errors).toEqual([]);
    expect(run.badTraceLines, run.firstBadTraceLine).toBe(0);
    for (const k of ['steadyFrom', 'cutAt', 'healAt', 'resumedAt', 'endAt'] as const)
      expect(r.phases[k]).toBeTypeOf('number');
  });

  it('delays packets as configured: each ping round trip is twice the pair delay, plus little', () => {
    for (let a = 0; a < 4; a++)
      for (let b = a + 1; b < 4; b++) {
        const rtt = r.pingRttMs[`${a}-${b}`]!;
        const expected = 2 * pairDelayMs(PLAN, a, b);
        expect(rtt, `n${a} <-> n${b}`).toBeGreaterThanOrEqual(expected);
        expect(rtt, `n${a} <-> n${b}`).toBeLessThan(expected + 60);
      }
  });

  it('keeps finality lag within 1.5 s at every node over the steady window', () => {
    const lags = finalityLags(run.traces, phase('steadyFrom'), phase('steadyTo'));
    const p50 = quantile(lags, 0.5);
    const p90 = quantile(lags, 0.9);
    const p99 = quantile(lags, 0.99);
    process.stdout.write(
      `netns devnet (${run.vm.accel}): finality lag p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms over ${lags.length} (block, node) pairs\n`,
    );
    // 20 s is 40 slots, each finalized at 4 nodes: most of them must be there.
    expect(lags.length).toBeGreaterThanOrEqual(100);
    if (run.vm.accel === 'kvm') expect(p99).toBeLessThanOrEqual(1_500);
    else {
      // Emulated, a node starved of CPU for a moment delays a few blocks by seconds: the 1.5 s
      // bound is on nine blocks in ten.
      expect(p50).toBeLessThanOrEqual(1_500);
      expect(p90).toBeLessThanOrEqual(1_500);
    }
    // No node finalizes a block sooner than the smallest one-way delay after its slot starts: the
    // lags are the network's, not a clock's mistake.
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(pairDelayMs(PLAN, 0, 1));
  });

  it('a 2|2 partition halts finality on every node while both sides keep producing', () => {
    const cut = phase('cutAt');
    const heal = phase('healAt');
    expect(crossings(PLAN, SIDE, run.traces, cut + GRACE_MS, heal)).toEqual([]);
    const before = Math.max(...[0, 1, 2, 3].map((i) => at(i, cut).finalHeight));
    for (let i = 0; i < 4; i++) {
      const held = r.polls.filter((p) => p.node === i && p.atMs >= cut + GRACE_MS && p.atMs < heal);
      expect(held.length, `polls of node ${i} during the partition`).toBeGreaterThanOrEqual(10);
      const finals = new Set(held.map((p) => p.finalHeight));
      expect([...finals], `node ${i}: final heights during the partition`).toHaveLength(1);
      // At most the blocks whose votes were on the wire became final after the cut. `before` is a
      // poll up to one poll period old, and an emulated VM on a loaded host delivers votes already
      // sent late: a few blocks, never a growing number (the final height above stays one value).
      expect(held[0]!.finalHeight).toBeLessThanOrEqual(before + 4);
      expect(held.at(-1)!.headHeight, `node ${i}: head grows`).toBeGreaterThan(held[0]!.headHeight);
    }
  });

  it('never shows two different final blocks at one height, before, during or after', () => {
    expect(finalConflicts(r.polls, r.finalChain, r.idsAtCommonHeight)).toEqual([]);
    expect(r.idsAtCommonHeight).toHaveLength(4);
    // The polls saw final blocks at many heights in every phase.
    const heights = new Set(r.polls.map((p) => p.finalHeight));
    expect(heights.size).toBeGreaterThanOrEqual(40);
  });

  it('resumes finality after the heal within 30 s, every node ending on one final chain', () => {
    const heal = phase('healAt');
    const atHeal = Math.max(...[0, 1, 2, 3].map((i) => at(i, heal).finalHeight));
    process.stdout.write(`netns devnet: finality resumed ${phase('resumedAt') - heal} ms after the heal\n`);
    expect(phase('resumedAt') - heal).toBeLessThanOrEqual(30_000);
    const end = phase('endAt');
    for (let i = 0; i < 4; i++) expect(at(i, end).finalHeight, `node ${i}`).toBeGreaterThan(atHeal + 3);
    // One final chain: every node holds node 0's block at the lowest final height of all.
    expect(r.finalChain.length).toBeGreaterThan(atHeal);
    expect(new Set(r.idsAtCommonHeight)).toEqual(new Set([r.finalChain.at(-1)]));
  });
});
