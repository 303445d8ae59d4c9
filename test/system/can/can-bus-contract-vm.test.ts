/**
 * The `CanBus` contract against SocketCAN on a real vcan in a qemu VM: the same checks as the
 * memory bus's unit test (test/unit/firmware-bridge/can/memory-bus.contract.test.ts), run by a probe
 * inside the VM, where vitest does not go (test/support/vm/can-bus-contract-probe.ts), one test
 * here per check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { canBusChecks } from '../../support/contracts/can-bus-checks.js';
import type { CheckResult } from '../../support/contracts/contract.js';
import { describeSystem, projectRoot } from '../../support/system.js';
import { runInVm, VM_NEEDS } from '../vm/run-in-vm.js';

const probe = join(projectRoot(), 'dist', 'test', 'support', 'vm', 'can-bus-contract-probe.js');

const SCRIPT = `
ip link add dev vcan0 type vcan && ip link set vcan0 mtu 72 && ip link set up vcan0 || exit 1
node ${probe} vcan0 > probe.out 2>&1
rc=$?
cat probe.out
exit $rc
`;

describeSystem('CanBus contract: SocketCAN on a real vcan (qemu VM)', [...VM_NEEDS], () => {
  let results: CheckResult[] = [];
  beforeAll(async () => {
    if (!existsSync(probe)) throw new Error(`${probe} is missing: run npm run build first`);
    const run = await runInVm(SCRIPT, { timeoutMs: 600_000 });
    if (run.rc !== 0)
      throw new Error(
        `VM run failed (rc ${run.rc}):\n${run.out}\n--- console ---\n${run.console.slice(-2000)}`,
      );
    results = JSON.parse(readFileSync(join(run.workDir, 'contract.json'), 'utf8')) as CheckResult[];
  }, 1_500_000); // VMs run one at a time: this may wait for the others

  it('ran every check of the contract, none skipped', () => {
    expect(results.map((r) => [r.name, r.outcome === 'skipped' ? r.detail : 'ran'])).toEqual(
      canBusChecks.map((c) => [c.name, 'ran']),
    );
  });

  for (const check of canBusChecks)
    it(check.name, () => {
      const r = results.find((x) => x.name === check.name);
      expect(r, 'the probe reported this check').toBeDefined();
      expect(r!.outcome, r!.detail).toBe('passed');
    });
});
