/**
 * Real car drives (test/fixtures/nmea/drives, GENIVI positioning, MPL-2.0): the 38,938-sentence
 * Switzerland drive from a SiRF receiver (which sends each epoch's GSA before its RMC, and GGA/GSV
 * only every few seconds) decodes without a rejected sentence and without splitting an epoch in two;
 * the short part matches GENIVI's own decode of it (GVGNSPOS records: position, speed, heading).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type GnssFix, NmeaDecoder, parseNmeaSentence } from '../../../../firmware-bridge/index.js';
import { fixturePath } from '../../../support/system.js';

function decode(file: string): { fixes: GnssFix[]; decoder: NmeaDecoder } {
  const fixes: GnssFix[] = [];
  const decoder = new NmeaDecoder({ onFix: (f) => fixes.push(f), allowComments: true });
  decoder.push(readFileSync(file));
  decoder.flush();
  return { fixes, decoder };
}

describe('NMEA drive logs', () => {
  const dir = fixturePath('nmea/drives');

  it('the Switzerland drive: every sentence parses, one fix per epoch, speeds up to motorway', () => {
    const { fixes, decoder } = decode(join(dir, '20100403_Z205_Switzerland.txt'));
    const s = decoder.stats();
    expect(s.sentences).toBe(38_938);
    expect(s.checksumErrors + s.badSentences + s.lateSentences).toBe(0);
    // The receiver restarted three times: each time a NUL byte before its banner sentence, which is
    // counted as a garbage line and the sentence after it kept.
    expect(s.garbageLines).toBe(3);
    const times = fixes.map((f) => f.timeMs);
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(fixes.filter((f) => f.mode === 3).length / fixes.length).toBeGreaterThan(0.95);
    const top = Math.max(...fixes.map((f) => f.speedKmh ?? 0));
    expect(top).toBeGreaterThan(100);
    expect(top).toBeLessThan(160);
  });

  it("the short part matches GENIVI's decode of the same sentences", () => {
    const { fixes } = decode(join(dir, '20100403_Z205_Switzerland_short.txt'));
    const byTime = new Map(fixes.map((f) => [f.timeOfDayMs, f]));
    let rmcTime: number | undefined;
    let compared = 0;
    for (const line of readFileSync(
      join(dir, '20100403_Z205_Switzerland_short.genivi_gvl.log'),
      'latin1',
    ).split('\n')) {
      if (line.startsWith('#$GPRMC')) {
        const r = parseNmeaSentence(line.slice(1).trim());
        rmcTime = r.ok && r.sentence.type === 'RMC' ? r.sentence.timeOfDayMs : undefined;
        continue;
      }
      const f = line.split(',');
      if (f[2] !== '$GVGNSPOS' || rmcTime === undefined) continue;
      const ours = byTime.get(rmcTime);
      expect(ours, `our fix for the RMC at ${rmcTime}`).toBeDefined();
      expect(Math.abs(ours!.latDeg! - Number(f[4]))).toBeLessThan(1e-6);
      expect(Math.abs(ours!.lonDeg! - Number(f[5]))).toBeLessThan(1e-6);
      // GENIVI: horizontal speed in m/s and heading in degrees, two decimals.
      expect(Math.abs(ours!.speedKmh! / 3.6 - Number(f[8]))).toBeLessThanOrEqual(0.0051);
      if (ours!.courseDeg !== undefined) expect(ours!.courseDeg).toBeCloseTo(Number(f[10]), 2);
      compared++;
    }
    expect(compared).toBe(226);
  });
});
