/**
 * The gpsd path against a real gpsd fed by gpsfake (Debian's gpsd and gpsd-clients): gpsfake plays
 * a real receiver capture into gpsd through a pty; the client watches gpsd over TCP and must get TPV
 * reports that match the same log decoded by our own NMEA decoder (time of day, mode, latitude and
 * longitude within 1e-6 degree, speed and course where gpsd had the RMC). Then gpsd goes away and
 * comes back on the same port, and the client reconnects by itself. Last, the emulator's own drive
 * into gpsd, and `qood gnss emulate --gpsd` with `qood gnss watch --gpsd` as a user runs them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  connectTcp,
  type GnssFix,
  type GnssSourceEvent,
  NmeaDecoder,
  openGpsdClient,
} from '../../../firmware-bridge/index.js';
import { freePort, type Gpsfake, startGpsfake } from '../../../simulators/nmea/gpsfake.js';
import { routeLog } from '../../../simulators/nmea/nmea-writer.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { describeSystem, fixturePath } from '../../support/system.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-gpsd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NEEDS = [
  { bin: 'gpsfake', pkg: 'gpsd-clients' },
  { bin: 'gpsd', pkg: 'gpsd' },
];

describeSystem('gpsd client against a real gpsd fed by gpsfake', NEEDS, () => {
  it('gets TPV reports matching the log, and reconnects when gpsd restarts', async () => {
    const log = fixturePath('nmea/gpsd_receivers/sirfstarv-nmea.log');
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
      // gpsd's answer for an epoch is its last TPV with that time. The first epoch is left out: gpsd
      // starts reading the pty mid-epoch and reports what it saw of it (an RMC alone is 2D).
      const last = new Map<number, GnssFix>();
      for (const f of timed()) last.set(f.timeOfDayMs!, f);
      const answers = [...last.values()].slice(1);
      expect(answers.length).toBeGreaterThanOrEqual(5);
      let withSpeed = 0;
      for (const f of answers) {
        const o = ours.get(f.timeOfDayMs!);
        expect(o, `our decode has the epoch gpsd reported at ${f.timeOfDayMs}`).toBeDefined();
        expect(f.mode, `mode at ${f.timeOfDayMs}`).toBe(o!.mode);
        expect(Math.abs(f.latDeg! - o!.latDeg!)).toBeLessThan(1e-6);
        expect(Math.abs(f.lonDeg! - o!.lonDeg!)).toBeLessThan(1e-6);
        // gpsd has the receiver's speed once the epoch's RMC is in (it then also reports the course).
        if (f.courseDeg !== undefined && o!.speedKmh !== undefined) {
          withSpeed++;
          expect(Math.abs(f.speedKmh! - o!.speedKmh)).toBeLessThan(0.0006 * 3.6);
          expect(f.courseDeg).toBeCloseTo(o!.courseDeg!, 3);
        }
      }
      expect(withSpeed).toBeGreaterThanOrEqual(answers.length - 1);

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

  it("the emulator's drive round the Zurich loop comes out of gpsd where the model put the car", async () => {
    const start = Date.UTC(2026, 5, 1, 8, 0, 0);
    const file = join(dir, 'drive.nmea');
    writeFileSync(
      file,
      routeLog(new VehicleModel({ seed: 5 }), { seconds: 120, rateHz: 1, startUtcMs: start }),
    );
    const twin = new VehicleModel({ seed: 5 });
    const truth = new Map<number, { latDeg: number; lonDeg: number }>();
    for (let i = 0; i < 120; i++) {
      const st = i === 0 ? twin.current() : twin.step(1000);
      truth.set((start + i * 1000) % 86_400_000, { latDeg: st.latDeg, lonDeg: st.lonDeg });
    }
    const fake = await startGpsfake({ logFile: file, cycleS: 0.005, once: false });
    const client = await openGpsdClient({
      host: '127.0.0.1',
      port: fake.port,
      connect: (t) => connectTcp(t),
    });
    const fixes: GnssFix[] = [];
    client.onFix((f) => fixes.push(f));
    try {
      const timed = () => fixes.filter((f) => f.timeOfDayMs !== undefined && f.mode === 3);
      await waitUntil(() => timed().length >= 10, 30_000, '10 3D fixes from gpsd');
      for (const f of timed()) {
        const t = truth.get(f.timeOfDayMs!);
        expect(t, `a model state at ${f.timeOfDayMs}`).toBeDefined();
        expect(Math.abs(f.latDeg! - t!.latDeg)).toBeLessThan(1e-6);
        expect(Math.abs(f.lonDeg! - t!.lonDeg)).toBeLessThan(1e-6);
      }
    } finally {
      await client.close();
      await fake.close();
    }
  });

  it('qood gnss emulate --gpsd and qood gnss watch --gpsd, as a user runs them', async () => {
    const port = await freePort();
    const emu = startQood(['gnss', 'emulate', '--gpsd', String(port), '--seconds', '60', '--speed', '20']);
    const out = collectOutput(emu);
    try {
      await waitUntil(() => out.stderr().includes(`gpsd on 127.0.0.1:${port}`), 20_000, 'gpsd to start');
      const r = runQood(['gnss', 'watch', '--gpsd', `127.0.0.1:${port}`, '--count', '3', '--json'], {
        timeoutMs: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { mode: number; lat?: number });
      expect(lines).toHaveLength(3);
      expect(r.stderr).toContain('gpsd 3.');
      const located = lines.filter((l) => l.lat !== undefined);
      for (const l of located) expect(Math.abs(l.lat! - 47.37)).toBeLessThan(0.05);
    } finally {
      emu.kill('SIGTERM');
      expect((await waitExit(emu, 15_000)).code).toBe(0);
    }
  });
});
