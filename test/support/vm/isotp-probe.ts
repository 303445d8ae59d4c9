/**
 * Runs inside the SocketCAN test VM: an ISO-TP endpoint of the firmware bridge that talks to the
 * kernel's can-isotp through can-utils' isotpsend / isotprecv. Argument: a JSON object
 * `{ "iface", "txId", "rxId", "fd", "send" }`. It writes `ready`, records the first message it
 * receives to `received.hex` (space-separated hex, as isotprecv prints), and when `send-now`
 * appears sends `send` bytes of a known pattern and writes `sent` (or `send-error`).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { IsoTpLink, openSocketCan } from '../../../firmware-bridge/index.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as {
  iface: string;
  txId: number;
  rxId: number;
  fd?: boolean;
  send: number;
  tag: string;
};
const bus = await openSocketCan({ interface: cfg.iface });
const link = new IsoTpLink({
  bus,
  txId: cfg.txId,
  rxId: cfg.rxId,
  ...(cfg.fd ? { txDataLength: 64 } : {}),
  timeoutBsMs: 5000,
  timeoutCrMs: 5000,
});
link.onMessage((m) =>
  writeFileSync(
    `${cfg.tag}.received.hex`,
    Buffer.from(m)
      .toString('hex')
      .toUpperCase()
      .replace(/(..)(?!$)/g, '$1 '),
  ),
);
link.onError((e) => writeFileSync(`${cfg.tag}.error`, e.message));
writeFileSync(`${cfg.tag}.ready`, '');
await new Promise<void>((resolve) => {
  const t = setInterval(() => {
    if (existsSync(`${cfg.tag}.send-now`)) {
      clearInterval(t);
      resolve();
    }
  }, 20);
});
const data = Uint8Array.from({ length: cfg.send }, (_, i) => (i * 31 + 7) & 0xff);
try {
  await link.send(data);
  writeFileSync(`${cfg.tag}.sent`, '');
} catch (e) {
  writeFileSync(`${cfg.tag}.send-error`, (e as Error).message);
}
await new Promise((r) => setTimeout(r, 500));
link.close();
await bus.close();
process.exit(0);
