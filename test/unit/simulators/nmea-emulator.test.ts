/**
 * The NMEA emulator: the car it drives comes back out of the decoder where the model put it, and a
 * replayed log comes out as the log itself, epoch by epoch, with the receiver's pacing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type GnssFix, MemorySerialPair, NmeaDecoder } from '../../../firmware-bridge/index.js';
import { runNmeaEmulator } from '../../../simulators/nmea/emulator.js';
import { epochGapMs, readNmeaLog } from '../../../simulators/nmea/nmea-log.js';
import { nmeaCoord } from '../../../simulators/nmea/nmea-writer.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { waitUntil } from '../../support/cli.js';
import { fixturePath } from '../../support/system.js';

// Bound on waiting for the decoder to catch up with what was written: it only ends a hung test, and a
// loaded two-core machine can stall a test process for a second or more.
const WAIT_MS = 10_000;

function receiver() {
  const pair = new MemorySerialPair('emulator', 'agent');
  const fixes: GnssFix[] = [];
  const decoder = new NmeaDecoder({ onFix: (f) => fixes.push(f) });
  pair.b.onData((c) => decoder.push(c));
  return { pair, fixes, decoder };
}

describe('NMEA emulator driving the vehicle model', () => {
  it('writes epochs whose fixes match the model state: position to 1e-6 degree, speed, course', async () => {
    const { pair, fixes, decoder } = receiver();
    const start = Date.UTC(2026, 5, 1, 8, 0, 0);
    const r = await runNmeaEmulator({
      link: pair.a,
      feed: { kind: 'route', model: new VehicleModel({ seed: 7 }), rateHz: 5, startUtcMs: start, speed: 0 },
      maxEpochs: 150,
    });
    expect(r).toMatchObject({ epochs: 150, stopped: 'max-epochs', droppedWrites: 0 });
    await waitUntil(() => fixes.length === 150, WAIT_MS, 'fixes');
    expect(decoder.stats()).toMatchObject({ checksumErrors: 0, badSentences: 0 });
    const twin = new VehicleModel({ seed: 7 });
    let state = twin.current();
    for (const [i, f] of fixes.entries()) {
      expect(f.timeMs).toBe(start + i * 200);
      expect(f.mode).toBe(3);
      expect(Math.abs(f.latDeg! - state.latDeg)).toBeLessThan(1e-6);
      expect(Math.abs(f.lonDeg! - state.lonDeg)).toBeLessThan(1e-6);
      expect(f.speedKmh).toBeCloseTo(state.speedKmh, 2);
      expect(f.altM).toBeCloseTo(state.altM, 1);
      state = twin.step(200);
    }
    expect(Math.max(...fixes.map((f) => f.speedKmh!))).toBeGreaterThan(20);
  });

  it('formats coordinates as ddmm.mmmmm with the hemisphere, rolling 60 minutes over', () => {
    expect(nmeaCoord(47.3769, true)).toBe('4722.61400,N');
    expect(nmeaCoord(-8.5, false)).toBe('00830.00000,W');
    expect(nmeaCoord(9.9999999999, true)).toBe('1000.00000,N');
  });
});

describe('NMEA emulator replaying a log', () => {
  const log = fixturePath('nmea/gpsd_receivers/bu353s4.log');

  it('keeps the receiver pacing (1 s per epoch, scaled by the speed factor)', () => {
    const epochs = readNmeaLog(readFileSync(log, 'latin1'));
    expect(epochs).toHaveLength(25);
    expect(epochGapMs(epochs, 1, 1)).toBe(1000);
    expect(epochGapMs(epochs, 1, 4)).toBe(250);
    expect(epochGapMs(epochs, 0, 1)).toBe(0);
  });

  it('replays every sentence, and the decoded fixes equal the log decoded directly', async () => {
    const text = readFileSync(log, 'latin1');
    const direct: GnssFix[] = [];
    const d = new NmeaDecoder({ onFix: (f) => direct.push(f), allowComments: true });
    d.push(Buffer.from(text, 'latin1'));
    d.flush();
    const { pair, fixes, decoder } = receiver();
    const t0 = performance.now();
    const r = await runNmeaEmulator({
      link: pair.a,
      feed: { kind: 'log', epochs: readNmeaLog(text), speed: 50 },
    });
    const elapsedMs = performance.now() - t0;
    expect(r).toMatchObject({ epochs: 25, sentences: 90, stopped: 'end-of-log' });
    // 24 gaps of 1 s at 50x: at least 480 ms (an upper bound would fail on a busy machine).
    expect(elapsedMs).toBeGreaterThanOrEqual(470);
    // The last epoch ends at its RMC, which the decoder has learned closes an epoch.
    await waitUntil(() => fixes.length === 25, WAIT_MS, 'fixes');
    expect(decoder.stats().checksumErrors).toBe(0);
    const strip = (f: GnssFix) => ({ ...f, wallMs: 0, monoMs: 0 });
    expect(fixes.map(strip)).toEqual(direct.map(strip));
  });
});
