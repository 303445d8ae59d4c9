/**
 * Runs the namespace devnet (vm/netns-devnet-probe.ts, compiled to dist/) in the test VM with a
 * plan, and reads back its result and the nodes' trace lines. Shared by the system test and the
 * bench; needs `npm run build` first and the VM packages (VM_NEEDS plus iproute2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInVm, VM_NEEDS, type VmRun } from '../system/vm/run-in-vm.js';
import { type NetnsPlan, type NetnsResult, type NodeTraceLine, parseNodeTraces } from './netns-devnet.js';
import { projectRoot } from './system.js';

/** Programs the namespace devnet needs on the host (the VM runs the host's own). */
export const NETNS_NEEDS = [
  ...VM_NEEDS,
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'tc', pkg: 'iproute2' },
] as const;

/** A finished run. */
export interface NetnsRun {
  readonly vm: VmRun;
  /** The probe's result; undefined when it wrote none (see vm.out and vm.console). */
  readonly result: NetnsResult | undefined;
  /** Every node's trace lines, in one list. */
  readonly traces: NodeTraceLine[];
  /** Log lines that were not JSON or were malformed traces, and the first of them. */
  readonly badTraceLines: number;
  readonly firstBadTraceLine: string | undefined;
}

/** Runs `plan` in the VM, bounded by `timeoutMs` of VM time. */
export async function runNetnsDevnet(plan: NetnsPlan, timeoutMs: number): Promise<NetnsRun> {
  const probe = join(projectRoot(), 'dist', 'test', 'support', 'vm', 'netns-devnet-probe.js');
  const vm = await runInVm(`set -e\nnode ${probe}\n`, {
    files: { 'plan.json': JSON.stringify(plan) },
    timeoutMs,
  });
  const read = (f: string) => {
    try {
      return readFileSync(join(vm.workDir, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const text = read('result.json');
  const result = text === undefined ? undefined : (JSON.parse(text) as NetnsResult);
  const traces: NodeTraceLine[] = [];
  let badTraceLines = 0;
  let firstBadTraceLine: string | undefined;
  for (let i = 0; i < plan.nodes; i++) {
    const log = read(`node${i}.log`);
    if (log === undefined) continue;
    const p = parseNodeTraces(log, i);
    traces.push(...p.traces);
    badTraceLines += p.badLines;
    firstBadTraceLine ??= p.firstBad;
  }
  return { vm, result, traces, badTraceLines, firstBadTraceLine };
}
