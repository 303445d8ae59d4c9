/** Collection schemes: periodic downsampling, on-change with deadband, trigger windows, streams by class. */
import { describe, expect, it } from 'vitest';
import { Collector, parseCondition, type StreamInfo } from '../../../../agent/collect/index.js';
import { collectSchema } from '../../../../agent/config/collect.js';
import type { Sample } from '../../../../chain/index.js';

function run(schemes: unknown[], samples: Sample[]) {
  const out: { stream: StreamInfo; sample: Sample }[] = [];
  const c = new Collector({
    config: collectSchema.parse({ schemes }),
    sink: (stream, sample) => out.push({ stream, sample }),
  });
  c.add(samples);
  return out;
}
const series = (path: string, values: (number | boolean)[], stepMs: number, t0Ms = 0): Sample[] =>
  values.map((value, i) => ({ path, tUs: (t0Ms + i * stepMs) * 1000, value }));

describe('Collector', () => {
  it('periodic keeps the first sample of each signal in each period', () => {
    const s = series('Vehicle.Speed', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 100);
    const out = run([{ name: 'p', kind: 'periodic', periodMs: 250, signals: ['Vehicle.Speed'] }], s);
    expect(out.map((o) => o.sample.value)).toEqual([1, 4, 6, 9]);
  });

  it('on-change keeps changes beyond the deadband, and a heartbeat', () => {
    const s = series('Vehicle.Speed', [10, 10.2, 10.6, 10.7, 12, 12, 12, 12], 1000);
    expect(
      run([{ name: 'c', kind: 'on-change', deadband: 0.5, signals: ['Vehicle.*'] }], s).map(
        (o) => o.sample.value,
      ),
    ).toEqual([10, 10.6, 12]);
    const hb = run([{ name: 'c', kind: 'on-change', deadband: 0.5, heartbeatMs: 3000, signals: ['*'] }], s);
    expect(hb.map((o) => o.sample.tUs / 1000)).toEqual([0, 2000, 4000, 7000]);
  });

  it('a window keeps beforeMs of history and afterMs after the trigger, and nothing else', () => {
    const speed = series(
      'Vehicle.Speed',
      Array.from({ length: 100 }, (_, i) => i),
      100,
    );
    const brake: Sample[] = [
      { path: 'Vehicle.Acceleration.Longitudinal', tUs: 4_950_000, value: -2 },
      { path: 'Vehicle.Acceleration.Longitudinal', tUs: 5_050_000, value: -6 },
      { path: 'Vehicle.Acceleration.Longitudinal', tUs: 5_150_000, value: -1 },
    ];
    const all = [...speed, ...brake].sort((a, b) => a.tUs - b.tUs);
    const out = run(
      [
        {
          name: 'brake',
          kind: 'window',
          when: 'Vehicle.Acceleration.Longitudinal < -4',
          beforeMs: 1000,
          afterMs: 2000,
          signals: ['Vehicle.Speed'],
        },
      ],
      all,
    );
    const times = out.map((o) => o.sample.tUs / 1000);
    expect(times[0]).toBe(4100); // 5050 - 1000 rounded up to the 100 ms grid
    expect(times.at(-1)).toBe(7000);
    expect(out).toHaveLength(30);
  });

  it('splits streams by data class, privacy and priority so each chunk has one key', () => {
    const s = [
      ...series('Vehicle.Speed', [1], 1),
      ...series('Vehicle.CurrentLocation.Latitude', [47.1], 1),
      ...series('Vehicle.OBD.DTCList', [1], 1),
    ];
    const out = run(
      [
        {
          name: 'drive',
          kind: 'on-change',
          signals: [
            'Vehicle.*',
            { path: 'Vehicle.CurrentLocation.*', privacy: 'private', priority: 2 },
            { path: 'Vehicle.OBD.DTCList', class: 'oem' },
          ],
        },
      ],
      s,
    );
    expect(out.map((o) => o.stream.id)).toEqual(['drive', 'drive.private.p2', 'drive.oem']);
  });

  it('config errors name the field: a window without a condition, a condition that does not parse', () => {
    const r = collectSchema.safeParse({ schemes: [{ name: 'w', kind: 'window', signals: ['*'] }] });
    expect(r.success).toBe(false);
    const r2 = collectSchema.safeParse({
      schemes: [{ name: 'w', kind: 'window', when: 'Vehicle.Speed >', signals: ['*'] }],
    });
    expect(JSON.stringify(r2.error?.issues)).toContain(
      "expected a number, true, false or a 'quoted string', found the end",
    );
  });
});

describe('parseCondition', () => {
  it('evaluates and/or/not with parentheses and treats missing values as false', () => {
    const c = parseCondition(
      "not (Vehicle.Speed > 5 and Vehicle.Gear == 'R') or Vehicle.Crash.IsDetected == true",
    );
    const v = (m: Record<string, number | string | boolean>) => (p: string) => m[p];
    expect(c.evaluate(v({ 'Vehicle.Speed': 10, 'Vehicle.Gear': 'R' }))).toBe(false);
    expect(c.evaluate(v({ 'Vehicle.Speed': 10, 'Vehicle.Gear': 'D' }))).toBe(true);
    expect(
      c.evaluate(v({ 'Vehicle.Speed': 10, 'Vehicle.Gear': 'R', 'Vehicle.Crash.IsDetected': true })),
    ).toBe(true);
    expect(parseCondition('Vehicle.Speed > 1').evaluate(() => undefined)).toBe(false);
    expect(c.paths).toEqual(['Vehicle.Speed', 'Vehicle.Gear', 'Vehicle.Crash.IsDetected']);
  });

  it('rejects garbage with the column and what was expected', () => {
    expect(() => parseCondition('Vehicle.Speed >> 3')).toThrow(/column 16: expected a number/);
    expect(() => parseCondition('Vehicle.Speed > 3 andd x')).toThrow(/expected 'and', 'or' or the end/);
    expect(() => parseCondition("Vehicle.Gear < 'R'")).toThrow(/only numbers are ordered/);
    expect(() => parseCondition('Vehicle.Speed > 3 $')).toThrow(/column 19/);
  });
});
