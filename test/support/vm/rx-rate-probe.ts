/**
 * Runs inside the SocketCAN bench VM (compiled to dist/): counts the frames the firmware bridge
 * receives on vcan0 until the file `finish` appears, then writes `{received, firstUs, lastUs}` to
 * the file named by its first argument. The agent's per-frame work (a listener call) is what runs.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { openSocketCan } from '../../../firmware-bridge/index.js';

const out = process.argv[2] ?? 'rx.json';
const bus = await openSocketCan({ interface: 'vcan0' });
let received = 0;
let firstUs = 0;
let lastUs = 0;
bus.onFrame((f) => {
  if (received === 0) firstUs = f.monoUs;
  lastUs = f.monoUs;
  received++;
});
writeFileSync('ready', '');
await new Promise<void>((resolve) => {
  const t = setInterval(() => {
    if (existsSync('finish')) {
      clearInterval(t);
      resolve();
    }
  }, 20);
});
await bus.close();
writeFileSync(out, JSON.stringify({ received, firstUs, lastUs }));
