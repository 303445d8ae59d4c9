/**
 * The `SerialLink` contract against `openSerialPort` (the serialport package) on two real
 * pseudo-terminals that socat joins, as a USB adapter and the device behind it would be: the same
 * checks as the memory pair's unit test. A fresh socat pair for each check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSerialPort } from '../../../firmware-bridge/index.js';
import { openPtyPair } from '../../../simulators/pty-pair.js';
import { serialLinkContract } from '../../support/contracts/serial-link.contract.js';
import { describeSystem } from '../../support/system.js';

const BAUD = 115200;

describeSystem('serialport on a socat pseudo-terminal pair', [{ bin: 'socat', pkg: 'socat' }], () => {
  const dir = mkdtempSync(join(tmpdir(), 'qood-serial-contract-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  serialLinkContract(
    'openSerialPort on a pty pair',
    async () => {
      n++;
      const pty = await openPtyPair(join(dir, `a${n}`), join(dir, `b${n}`));
      try {
        const a = await openSerialPort({ path: pty.devicePath, baudRate: BAUD });
        const b = await openSerialPort({ path: pty.userPath, baudRate: BAUD });
        return {
          a,
          b,
          unplug: () => pty.close(),
          openMissing: () => openSerialPort({ path: join(dir, 'no-such-tty'), baudRate: BAUD }),
          async dispose() {
            await a.close();
            await b.close();
            await pty.close();
          },
        };
      } catch (err) {
        await pty.close();
        throw err;
      }
      // 320 KB through socat's ptys at full speed: seconds alone, more beside a busy VM on two cores.
    },
    { timeoutMs: 60_000 },
  );
});
