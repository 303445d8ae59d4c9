/**
 * Runs inside the SocketCAN test VM (compiled to dist/): opens vcan0 and vcan1 through the
 * firmware bridge, records every frame and bus event, sends a fixed set of frames on request, and
 * writes what it saw. Coordinated with the VM's run.sh through files in its working folder:
 * it writes `ready`; on `send-now` it sends and writes `sent`; on `finish` it writes
 * `result.json` and exits.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { type CanBusEvent, type CanFrame, openSocketCan } from '../../../firmware-bridge/index.js';
import { writeCandumpLog } from '../../../simulators/can-log/index.js';

const received: CanFrame[] = [];
const filtered: CanFrame[] = [];
const events: CanBusEvent[] = [];
const sendErrors: string[] = [];

const bus0 = await openSocketCan({ interface: 'vcan0', reopenMinMs: 50, reopenMaxMs: 200 });
const bus1 = await openSocketCan({ interface: 'vcan1' });
bus0.onFrame((f) => received.push(f));
bus0.onEvent((e) => events.push(e));
bus1.setFilters([
  { id: 0x123, mask: 0x7ff },
  { id: 0x18daf110, mask: 0x1fffffff, extended: true },
]);
bus1.onFrame((f) => filtered.push(f));

let missing = '';
try {
  await openSocketCan({ interface: 'nosuch0' });
} catch (err) {
  missing = (err as Error).message;
}

writeFileSync('ready', '');
const wait = (file: string) =>
  new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (existsSync(file)) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });

await wait('send-now');
const toSend = [
  { id: 0x7e0, data: Uint8Array.of(0x02, 0x01, 0x0c) },
  { id: 0x18db33f1, extended: true, data: Uint8Array.of(0x02, 0x01, 0x00) },
  { id: 0x123, fd: true, data: Uint8Array.from({ length: 64 }, (_, i) => i) },
  {
    id: 0x1abcdef0,
    extended: true,
    fd: true,
    brs: true,
    data: Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i),
  },
  { id: 0x321, rtr: true, data: new Uint8Array(4) },
];
for (const f of toSend) await bus1.send(f);
for (const bad of [
  { id: 0x800, data: new Uint8Array(1) },
  { id: 0x1, data: new Uint8Array(9) },
]) {
  try {
    await bus1.send(bad);
  } catch (err) {
    sendErrors.push((err as Error).message);
  }
}
writeFileSync('sent', '');

await wait('finish');
writeFileSync('received.log', writeCandumpLog(received));
writeFileSync('filtered.log', writeCandumpLog(filtered));
writeFileSync(
  'result.json',
  JSON.stringify({
    events: events.map((e) => ({ type: e.type })),
    stats0: bus0.stats(),
    stats1: bus1.stats(),
    sendErrors,
    missing,
  }),
);
await bus0.close();
await bus1.close();
process.exit(0);
