/**
 * `canBusContract(name, makePair)`: the `CanBus` contract (can-bus-checks.ts) as a vitest suite,
 * for any implementation that can make two endpoints on one medium. The vcan VM runs the same
 * checks without vitest (test/support/vm/can-bus-contract-probe.ts).
 */
import { type CanBusPair, canBusChecks } from './can-bus-checks.js';
import { type ContractRunOptions, describeContract } from './describe-contract.js';

export type { CanBusPair } from './can-bus-checks.js';

/** Runs every `CanBus` check against pairs from `makePair`, a fresh pair per check. */
export function canBusContract(
  name: string,
  makePair: () => Promise<CanBusPair>,
  options?: ContractRunOptions,
): void {
  describeContract(`CanBus contract: ${name}`, canBusChecks, makePair, options);
}
