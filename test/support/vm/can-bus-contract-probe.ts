/**
 * Runs inside the vcan VM (compiled to dist/): the `CanBus` contract checks
 * (contracts/can-bus-checks.ts) against the SocketCAN adapter on a real vcan, two raw sockets on one
 * interface per check. can-utils' cansend puts the error frame on the bus and iproute2 takes the
 * link down and up, so those checks run too. Writes the results as JSON to `contract.json` in the
 * working folder for the test on the host to assert on.
 *
 * Usage: node can-bus-contract-probe.js <interface>   (a vcan with mtu 72, up)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { openSocketCan } from '../../../firmware-bridge/index.js';
import { type CanBusPair, canBusChecks } from '../contracts/can-bus-checks.js';
import { runChecks } from '../contracts/contract.js';

const iface = process.argv[2] ?? 'vcan0';
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

async function makePair(): Promise<CanBusPair> {
  const options = { interface: iface, reopenMinMs: 50, reopenMaxMs: 200 };
  const tx = await openSocketCan(options);
  const rx = await openSocketCan(options);
  return {
    tx,
    rx,
    fd: true,
    rtr: true,
    async raiseBusOff() {
      // Eight id digits with CAN_ERR_FLAG (0x20000000) make cansend send an error frame; 0x40 is
      // CAN_ERR_BUSOFF (linux/can/error.h). vcan hands it to every socket whose error mask has it.
      execFileSync('cansend', [iface, '20000040#0000000000000000'], { stdio: 'pipe' });
    },
    async setLink(up) {
      ip('link', 'set', iface, up ? 'up' : 'down');
    },
    // The VM may be emulated: allow more than on a bare host.
    deliveryMs: 5000,
    async dispose() {
      await tx.close();
      await rx.close();
      ip('link', 'set', iface, 'up'); // a check that failed with the link down must not break the next
    },
  };
}

const results = await runChecks(canBusChecks, makePair);
writeFileSync('contract.json', JSON.stringify(results, null, 2));
process.exit(0);
