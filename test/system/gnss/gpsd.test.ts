/**
 * The gpsd path against a real gpsd fed by gpsfake (Debian's gpsd and gpsd-clients): gpsfake plays
 * a real receiver capture into gpsd through a pty; the client watches gpsd over TCP and must get TPV
 * reports that match the same log decoded by our own NMEA decoder (time of day, mode, latitude and
 * longitude within 1e-6 degree, speed and course where gpsd had the RMC). Then gpsd goes away and
 * comes back on the same port, and the client reconnects by itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  connectTcp,
  type GnssFix,
  type GnssSourceEvent,
  NmeaDecoder,
  openGpsdClient,
} from '../../../firmware-bridge/index.js';
import { type Gpsfake, startGpsfake } from '../../../simulators/nmea/gpsfake.js';
import { waitUntil } from '../../support/cli.js';
import { describeSystem, sharedDataDir } from '../../support/system.js';

const NEEDS = [
  { bin: 'gpsfake', pkg: 'gpsd-clients' },
  { bin: 'gpsd', pkg: 'gpsd' },
];

describeSystem('gpsd client against a real gpsd fed by gpsfake', NEEDS, () => {
  it('gets TPV reports matching the log, and reconnects when gpsd restarts', async () => {
    const data = sharedDataDir();
    expect(data, 'needs ../shared/data').toBeDefined();
    const log = join(data!, 'nmea', 'gpsd_receivers', 'sirfstarv-nmea.log');
    const ours = new Map<number, GnssFix>();
    const dec = new NmeaDecoder({ allowComments: true, onFix: (f) => ours.set(f.timeOfDayMs!, f) });
    dec.push(readFileSync(log));
    dec.flush();

    let fake: Gpsfake = await startGpsfake({ logFile: log, cycleS: 0.01, once: false });
    const port = fake.port;
    const fixes: GnssFix[] = [];
    const events: GnssSourceEvent[] = [];
    const client = await openGpsdClient({
      host: '127.0.0.1',
      port,
      connect: (t) => connectTcp(t),
      retryMinMs: 200,
      retryMaxMs: 500,
    });
    client.onFix((f) => fixes.push(f));
    client.onEvent((e) => events.push(e));
    try {
      const timed = () => fixes.filter((f) => f.timeOfDayMs !== undefined && f.mode >= 2);
      await waitUntil(() => timed().length >= 15, 30_000, '15 TPV reports with a time from gpsd');
      expect(events.some((e) => e.type === 'info' && e.message.startsWith('gpsd 3.'))).toBe(true);
      let withSpeed = 0;
      for (const f of timed()) {
        const o = ours.get(f.timeOfDayMs!);
        expect(o, `our decode has the epoch gpsd reported at ${f.timeOfDayMs}`).toBeDefined();
        expect(f.mode).toBe(o!.mode);
        expect(Math.abs(f.latDeg! - o!.latDeg!)).toBeLessThan(1e-6);
        expect(Math.abs(f.lonDeg! - o!.lonDeg!)).toBeLessThan(1e-6);
        // gpsd has the receiver's speed once the epoch's RMC is in (it then also reports the course).
        if (f.courseDeg !== undefined && o!.speedKmh !== undefined) {
          withSpeed++;
          expect(Math.abs(f.speedKmh! - o!.speedKmh)).toBeLessThan(0.0006 * 3.6);
          expect(f.courseDeg).toBeCloseTo(o!.courseDeg!, 3);
        }
      }
      expect(withSpeed).toBeGreaterThan(5);

      // gpsd goes away ...
      await fake.close();
      await waitUntil(() => events.some((e) => e.type === 'down'), 10_000, 'the client to see gpsd go');
      const before = fixes.length;
      // ... and comes back on the same port.
      fake = await startGpsfake({ logFile: log, port, cycleS: 0.01, once: false });
      await waitUntil(() => fixes.length >= before + 5, 30_000, 'fixes after gpsd came back');
      expect(client.stats().reopens).toBeGreaterThanOrEqual(1);
      expect(client.stats().badInput).toBe(0);
    } finally {
      await client.close();
      await fake.close();
    }
  });
});
