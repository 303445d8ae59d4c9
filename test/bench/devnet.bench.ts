/**
 * The devnet's figures for 21 producers, 10 simulated minutes, 100-300 ms latency: finality lag p50
 * and p99 (a block's slot to its finality, at every honest node), final blocks, and simulated seconds
 * per wall second against a floor measured in the same run: the same run's signature work alone
 * (every vote and block signed once, every distinct signature verified once, at raw node:crypto speed).
 */

import { verify } from '../../chain/index.js';
import { Devnet, type DevnetReport, devnetKey } from '../../simulators/devnet/index.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const OPTIONS = {
  producers: 21,
  durationMs: 600_000,
  latencyMs: { min: 100, max: 300 },
  seed: 'bench',
} as const;

/** Seconds the run's signatures alone take: signs and verifies timed on a sample and scaled. */
function signatureSeconds(signs: number, verifies: number): number {
  const k = devnetKey('bench', 'timing');
  const msgs = Array.from({ length: 2000 }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 1, 2]));
  const t0 = performance.now();
  const sigs = msgs.map((m) => k.sign(m));
  const t1 = performance.now();
  for (let i = 0; i < msgs.length; i++) verify(sigs[i]!, msgs[i]!, k.publicKey);
  const t2 = performance.now();
  return (((t1 - t0) / msgs.length) * signs + ((t2 - t1) / msgs.length) * verifies) / 1000;
}

export const suite: BenchSuite = {
  name: 'devnet',
  figures: async (): Promise<readonly BenchFigure[]> => {
    let last: { report: DevnetReport; signs: number; verifies: number } | undefined;
    const run = () => {
      const net = new Devnet(OPTIONS);
      const report = net.run();
      let signs = 0;
      let verifies = 0;
      for (const n of net.nodes) {
        // Each vote and produced block is signed once; each vote is verified once (shared cache),
        // each block header by every node that applies it.
        signs += n.engine.stats.votesCast + n.engine.stats.blocksProduced;
        verifies += n.engine.stats.votesCast + (n.engine.stats.blocksApplied - n.engine.stats.blocksProduced);
      }
      last = { report, signs, verifies };
      return last;
    };
    const once = () => last ?? run();
    const note = '21 producers, 10 simulated min, 100-300 ms';
    return [
      {
        name: 'simulated seconds per wall second',
        unit: 'sim s/s',
        runs: 3,
        measure: () => run().report.wall.simulatedSecondsPerWallSecond,
        floor: {
          name: "the run's signature work alone",
          measure: () => {
            const r = once();
            return r.report.simulatedSeconds / signatureSeconds(r.signs, r.verifies);
          },
        },
        note,
      },
      { name: 'finality lag p50', unit: 'ms', runs: 1, measure: () => once().report.finalityLagMs.p50, note },
      { name: 'finality lag p99', unit: 'ms', runs: 1, measure: () => once().report.finalityLagMs.p99, note },
      {
        name: 'final blocks (of 1,200 slots)',
        unit: 'blocks',
        runs: 1,
        measure: () => once().report.blocks,
        note,
      },
      {
        name: 'conflicting final blocks',
        unit: 'blocks',
        runs: 1,
        measure: () => once().report.conflictingFinalBlocks,
        note,
      },
    ];
  },
};
