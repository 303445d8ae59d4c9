import { describe, expect, it } from 'vitest';
import {
  dtcsFromResponse,
  formatDtc,
  PollScheduler,
  parseDtc,
  parseReply,
  supportedFromBitmap,
} from '../../../../firmware-bridge/index.js';

describe('ELM327 reply parser beyond the reference pairs', () => {
  it('reads 29-bit headers with spaces and reassembles interleaved multi-frame replies per ECU', () => {
    const raw = [
      '18 DA F1 10 10 14 49 02 01 31 44 34',
      '18 DA F1 18 03 41 0D 2A',
      '18 DA F1 10 21 47 50 30 30 52 35 35',
      '18 DA F1 10 22 42 31 32 33 34 35 36',
    ].join('\r');
    const r = parseReply(`${raw}\r\r`, '0902', { family: 'can29', headers: true });
    expect(r.bad).toEqual([]);
    expect(r.messages.map((m) => m.ecu)).toEqual(['18DAF118', '18DAF110']);
    expect(Buffer.from(r.messages[1]!.data.subarray(3)).toString('latin1')).toBe('1D4GP00R55B123456');
  });

  it('names line, offset and expectation for garbage, cut frames, bad checksums and missing frames', () => {
    const r = parseReply('7E8 10 14 49 02 01 31 44 34\r7E8 23 00\r7E#03410D\r86 F1 10 41 0D 53 99', '0902', {
      family: 'can11',
      headers: true,
    });
    expect(r.bad).toEqual([
      { line: 2, offset: 0, text: '7E8 23 00', expected: 'consecutive frame 1' },
      { line: 3, offset: 2, text: '7E#03410D', expected: 'hex bytes, a status line or a frame index' },
      // A legacy line where CAN 11-bit was expected: 11 digits after the id are no whole bytes.
      {
        line: 4,
        offset: 3,
        text: '86 F1 10 41 0D 53 99',
        expected: 'a 3-digit CAN id followed by whole bytes',
      },
    ]);
    const legacy = parseReply('86 F1 10 41 0D 53 99', '010D', { family: 'legacy', headers: true });
    expect(legacy.bad[0]).toMatchObject({ line: 1, expected: 'checksum 28' });
    const missing = parseReply('014\r0: 49 02 01 31 44 34\r1: 47 50 30 30 52 35 35', '0902', {
      family: 'can11',
      headers: false,
    });
    expect(missing.bad[0]).toMatchObject({ line: 1, expected: '20 bytes of a multi-frame message, got 13' });
  });
});

describe('J1979 frames', () => {
  it('formats and parses DTCs of all four systems', () => {
    expect(formatDtc(0x01, 0x33)).toBe('P0133');
    expect(formatDtc(0x41, 0x23)).toBe('C0123');
    expect(formatDtc(0x9a, 0xbc)).toBe('B1ABC');
    expect(formatDtc(0xc1, 0x00)).toBe('U0100');
    for (const c of ['P0301', 'C0035', 'B1ABC', 'U3FFF']) expect(formatDtc(...parseDtc(c))).toBe(c);
    expect(() => parseDtc('X0301')).toThrow(/expected a letter P\/C\/B\/U/);
  });

  it('reads DTCs in CAN form (count byte) and legacy form (three slots, zero padded)', () => {
    expect(dtcsFromResponse(Uint8Array.of(0x43, 0x02, 0x03, 0x01, 0x04, 0x20))).toEqual(['P0301', 'P0420']);
    expect(dtcsFromResponse(Uint8Array.of(0x43, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00))).toEqual(['P0301']);
    expect(dtcsFromResponse(Uint8Array.of(0x43, 0x00))).toEqual([]);
  });

  it('reads a supported-PID bitmap, bit 7 of A first', () => {
    expect(supportedFromBitmap(0x00, Uint8Array.of(0xbe, 0x1f, 0xa8, 0x13))).toEqual([
      0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x13, 0x15, 0x1c, 0x1f, 0x20,
    ]);
  });
});

describe('poll scheduler', () => {
  it('keeps configured rates while the link can carry them', () => {
    const s = new PollScheduler({
      targets: [
        { pid: 0x0c, rateHz: 10 },
        { pid: 0x0d, rateHz: 5 },
      ],
    });
    s.record(0x0c, 0, 10, true); // 10 ms round trip: 90 requests/s available, 15 asked
    expect(s.scale).toBe(1);
    expect(s.effectiveRates()).toEqual(
      new Map([
        [0x0c, 10],
        [0x0d, 5],
      ]),
    );
  });

  it('scales every rate by the same factor when the adapter is too slow, keeping their ratios', () => {
    const s = new PollScheduler({
      targets: [
        { pid: 0x0c, rateHz: 20 },
        { pid: 0x0d, rateHz: 10 },
      ],
    });
    for (let i = 0; i < 30; i++) s.record(0x0c, i * 100, 100, true); // 100 ms: 9 requests/s usable
    expect(s.rttMs).toBeCloseTo(100);
    const r = s.effectiveRates();
    expect(r.get(0x0c)! + r.get(0x0d)!).toBeCloseTo(9);
    expect(r.get(0x0c)! / r.get(0x0d)!).toBeCloseTo(2);
  });

  it('serves PIDs earliest-deadline-first in proportion to their rates, and backs off a silent one', () => {
    const s = new PollScheduler({
      targets: [
        { pid: 1, rateHz: 4 },
        { pid: 2, rateHz: 1 },
        { pid: 3, rateHz: 2 },
      ],
    });
    const count = new Map<number, number>();
    let now = 0;
    while (now < 10_000) {
      const { pid, dueMs } = s.next();
      now = Math.max(now, dueMs);
      count.set(pid, (count.get(pid) ?? 0) + 1);
      s.record(pid, now, 1, pid !== 3 || now < 5000);
      now += 1;
    }
    expect(count.get(1)).toBeGreaterThanOrEqual(39);
    expect(count.get(2)).toBeGreaterThanOrEqual(9);
    // PID 3 answered for 5 s (about 10 polls), then failed: 3 more tries, then a tenth of its rate.
    expect(count.get(3)).toBeLessThan(16);
  });
});
