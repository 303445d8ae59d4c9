/**
 * The `SerialLink` contract against `MemorySerialPair`, the double the OBD and NMEA drivers' unit
 * tests use. The same checks run on two real pseudo-terminals in
 * test/system/serial/serialport-pty.contract.test.ts.
 */
import { MemorySerialPair } from '../../../../firmware-bridge/index.js';
import { serialLinkContract } from '../../../support/contracts/serial-link.contract.js';

serialLinkContract('MemorySerialPair', async () => {
  const { a, b } = new MemorySerialPair();
  return {
    a,
    b,
    unplug: () => a.close(),
    async dispose() {
      await a.close();
      await b.close();
    },
  };
});
