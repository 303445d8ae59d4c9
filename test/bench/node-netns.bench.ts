/**
 * The node network in network namespaces with netem delay: four `qood node` processes in the test
 * VM (test/support/vm/netns-devnet-probe.ts), node i's link delayed 25/40/55/70 ms each way, so a
 * pair sees 65 to 125 ms one way (95 ms on average). Over a 30 s window after warm-up:
 * - block and vote propagation: from the sender's trace line to each other node's first receipt
 *   (one clock in the VM, so exact to the ms), p50 and p99 over every (message, receiver) pair;
 * - the same less each pair's netem delay: what the nodes themselves add;
 * - finality lag: slot start to final, at every node.
 * Floor: the configured one-way netem delay, averaged over the pairs. In an emulated VM (no KVM)
 * four nodes keep both virtual CPUs busy, which the figures include; the note says which it was.
 */
import { rmSync } from 'node:fs';
import {
  finalityLags,
  type Hop,
  type NetnsPlan,
  pairDelayMs,
  propagation,
  quantile,
} from '../support/netns-devnet.js';
import { NETNS_NEEDS, runNetnsDevnet } from '../support/netns-vm-run.js';
import { missing } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const PLAN: NetnsPlan = {
  nodes: 4,
  halfDelayMs: [25, 40, 55, 70],
  warmupTimeoutMs: 120_000,
  settleMs: 5_000,
  steadyMs: 30_000,
  pollMs: 1_000,
};

/** The configured one-way delay averaged over the node pairs. */
function meanPairDelayMs(): number {
  const d: number[] = [];
  for (let a = 0; a < PLAN.nodes; a++)
    for (let b = a + 1; b < PLAN.nodes; b++) d.push(pairDelayMs(PLAN, a, b));
  return d.reduce((s, x) => s + x, 0) / d.length;
}

interface Measured {
  readonly block: Hop[];
  readonly vote: Hop[];
  readonly lag: number[];
  readonly accel: string;
}

async function measure(): Promise<Measured> {
  const run = await runNetnsDevnet(PLAN, 420_000);
  const r = run.result;
  if (r === undefined || r.errors.length > 0 || r.phases.steadyTo === undefined)
    throw new Error(
      `namespace devnet run failed (rc ${run.vm.rc}): ${r?.errors.join('; ') ?? run.vm.out.slice(-2000)}`,
    );
  const from = r.phases.steadyFrom!;
  const to = r.phases.steadyTo;
  const p = propagation(PLAN, run.traces, from, to);
  const lag = finalityLags(run.traces, from, to);
  process.stderr.write(
    `  ${run.vm.accel}: ${p.block.length} block hops, ${p.vote.length} vote hops, ${lag.length} finalizations; node CPU ${r.cpuSeconds.map((s) => s.toFixed(1)).join('/')} s\n`,
  );
  rmSync(run.vm.workDir, { recursive: true, force: true });
  return { ...p, lag, accel: run.vm.accel };
}

export const suite: BenchSuite = {
  name: 'node-netns',
  skip: () => {
    const absent = missing(NETNS_NEEDS);
    if (absent.length > 0) return `needs ${[...new Set(absent.map((m) => m.pkg))].join(', ')}`;
    return undefined;
  },
  figures: async (): Promise<readonly BenchFigure[]> => {
    let m: Measured | undefined;
    const get = async () => {
      m ??= await measure();
      return m;
    };
    const floor = { name: 'netem one-way delay, mean of pairs', measure: meanPairDelayMs };
    const m0 = await get();
    const note = `4 qood node processes, namespaces in a qemu VM (${m0.accel}), 30 s`;
    const fig = (
      name: string,
      values: (x: Measured) => number[],
      q: number,
      withFloor = true,
    ): BenchFigure => ({
      name,
      unit: 'ms',
      runs: 1,
      note,
      ...(withFloor ? { floor } : {}),
      measure: async () => quantile(values(await get()), q),
    });
    const ms = (hops: Hop[]) => hops.map((h) => h.ms);
    const excess = (hops: Hop[]) => hops.map((h) => h.ms - h.floorMs);
    return [
      fig('block propagation p50', (x) => ms(x.block), 0.5),
      fig('block propagation p99', (x) => ms(x.block), 0.99),
      fig('vote propagation p50', (x) => ms(x.vote), 0.5),
      fig('vote propagation p99', (x) => ms(x.vote), 0.99),
      fig('block propagation over the pair delay p50', (x) => excess(x.block), 0.5, false),
      fig('vote propagation over the pair delay p50', (x) => excess(x.vote), 0.5, false),
      fig('finality lag p50', (x) => x.lag, 0.5),
      fig('finality lag p99', (x) => x.lag, 0.99),
    ];
  },
};
