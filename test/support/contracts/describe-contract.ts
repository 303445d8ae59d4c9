/**
 * Registers a contract's checks (contract.ts) as vitest tests: one `describe` per implementation,
 * one test per check, each on a fresh subject that is disposed of afterwards. A check that does not
 * apply to the implementation is reported as skipped with its reason.
 */
import { describe, it } from 'vitest';
import type { ContractCheck, ContractSubject } from './contract.js';

/** Options for one implementation's run of a contract. */
export interface ContractRunOptions {
  /** Per-check timeout, ms (default: the config's testTimeout). */
  readonly timeoutMs?: number;
}

/** `describe(name)` with one test per check, run against subjects from `make`. */
export function describeContract<S extends ContractSubject>(
  name: string,
  checks: readonly ContractCheck<S>[],
  make: () => Promise<S>,
  options: ContractRunOptions = {},
): void {
  describe(name, () => {
    for (const check of checks) {
      it(
        check.name,
        async (ctx) => {
          const subject = await make();
          try {
            const why = check.skip?.(subject);
            if (why !== undefined) ctx.skip(why);
            else await check.run(subject);
          } finally {
            await subject.dispose();
          }
        },
        options.timeoutMs,
      );
    }
  });
}
