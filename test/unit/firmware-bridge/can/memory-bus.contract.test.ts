/**
 * The `CanBus` contract against the memory bus: two endpoints on one `CanWire`, which carries
 * classic, remote and FD frames, and raises error frames and link changes on request.
 */
import { type CanBusEvent, CanWire, decodeErrorFrame } from '../../../../firmware-bridge/index.js';
import { canBusContract } from '../../../support/contracts/can-bus.contract.js';

canBusContract('MemoryCanBus on a CanWire', async () => {
  const wire = new CanWire();
  const tx = wire.attach('can0');
  const rx = wire.attach('can0');
  return {
    tx,
    rx,
    fd: true,
    rtr: true,
    async raiseBusOff() {
      // What the kernel sends for bus-off: CAN_ERR_BUSOFF in the id (linux/can/error.h).
      const data = new Uint8Array(8);
      const event: CanBusEvent = {
        type: 'error',
        bus: 'can0',
        kinds: decodeErrorFrame(0x40, data),
        data,
        wallUs: Date.now() * 1000,
      };
      wire.raise(event);
    },
    async setLink(up) {
      wire.raise(up ? { type: 'up', bus: 'can0' } : { type: 'down', bus: 'can0', reason: 'test' });
    },
    async dispose() {
      await tx.close();
      await rx.close();
    },
  };
});
