/**
 * From bytes to fixes: line framing (partial lines, CR/LF quirks, garbage, overlong lines, binary
 * noise), with a property test that any chunking of a stream gives the same lines; the decoder's
 * counters and line-numbered problems; and the epoch assembler (grouping, learned ender, midnight).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FixAssembler,
  type GnssFix,
  LineFramer,
  NmeaDecoder,
  type NmeaLineProblem,
  type NmeaSentence,
  parseNmeaSentence,
  withChecksum,
} from '../../../../firmware-bridge/index.js';

const EPOCH: readonly [string, string, string] = [
  '$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7D',
  '$GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*33',
  '$GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*7D',
];

function frame(
  chunks: readonly (string | Uint8Array)[],
  max?: number,
): { lines: string[]; framer: LineFramer } {
  const framer = new LineFramer(max === undefined ? {} : { maxLineBytes: max });
  const lines: string[] = [];
  for (const c of chunks)
    framer.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, (l) => lines.push(l));
  framer.end((l) => lines.push(l));
  return { lines, framer };
}

describe('line framer', () => {
  it('accepts CR LF, LF, CR and LF CR line endings and skips blank lines', () => {
    const { lines } = frame([`${EPOCH[0]}\r\n${EPOCH[1]}\n${EPOCH[2]}\r${EPOCH[0]}\n\r\n\n${EPOCH[1]}`]);
    expect(lines).toEqual([EPOCH[0], EPOCH[1], EPOCH[2], EPOCH[0], EPOCH[1]]);
  });

  it('joins a sentence split across chunks, byte by byte', () => {
    const text = `${EPOCH.join('\r\n')}\r\n`;
    const { lines } = frame([...text]);
    expect(lines).toEqual(EPOCH);
  });

  it('drops lines with binary bytes, but keeps a sentence that follows binary noise on its line', () => {
    const ubx = Uint8Array.of(0xb5, 0x62, 0x01, 0x07, 0x5c, 0x00);
    const { lines, framer } = frame([
      ubx,
      `${EPOCH[0]}\r\n`,
      Uint8Array.of(0x00, 0xff, 0x0a),
      `${EPOCH[1]}\r\n`,
    ]);
    expect(lines).toEqual([EPOCH[0], EPOCH[1]]);
    expect(framer.stats.garbageLines).toBe(2);
  });

  it('counts and drops overlong lines without keeping them in memory', () => {
    const { lines, framer } = frame(
      [`$GPTXT,${'x'.repeat(1000)}`, `${'y'.repeat(500)}\r\n${EPOCH[0]}\r\n`],
      120,
    );
    expect(lines).toEqual([EPOCH[0]]);
    expect(framer.stats.overlongLines).toBe(1);
  });

  it('property: any chunking of a stream gives the same lines', () => {
    const sentence = fc.constantFrom(...EPOCH);
    const ending = fc.constantFrom('\r\n', '\n', '\r');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(sentence, ending), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }),
        (items, cuts) => {
          const text = items.map(([s, e]) => s + e).join('');
          const chunks: string[] = [];
          let i = 0;
          for (let k = 0; i < text.length; k++) {
            const n = cuts[k % cuts.length]!;
            chunks.push(text.slice(i, i + n));
            i += n;
          }
          expect(frame(chunks).lines).toEqual(items.map(([s]) => s));
        },
      ),
    );
  });

  it('property: arbitrary bytes never throw, and every whole sentence between line breaks survives', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 }), (noise) => {
        const chunks: (string | Uint8Array)[] = [];
        for (const n of noise) chunks.push(n, `\n${EPOCH[2]}\n`);
        const { lines } = frame(chunks);
        expect(lines.filter((l) => l === EPOCH[2]).length).toBe(noise.length);
        for (const l of lines)
          expect(l).toMatch(l.startsWith('#') ? /^[^\x00-\x1f\x7f]*$/ : /^[\x20-\x7e]*$/);
      }),
    );
  });
});

describe('NMEA decoder', () => {
  it('counts checksum errors, bad sentences and garbage, reports each with its line, and keeps decoding', () => {
    const fixes: GnssFix[] = [];
    const problems: NmeaLineProblem[] = [];
    const d = new NmeaDecoder({ onFix: (f) => fixes.push(f), onProblem: (p) => problems.push(p) });
    const input = [
      EPOCH[0],
      EPOCH[1].replace('*33', '*34'), // line 2: checksum
      'GARBAGE LINE', // line 3
      `xx${EPOCH[2]}`, // line 4: noise before '$', resynchronised
      withChecksum('GPGGA,030720.000,37x7.0875,S,17518.8938,E,1,08,1.1,59.8,M,23.7,M,,0000'), // line 5
      '$GPGGA,030720.000,3747.08', // line 6: cut short by a reopened port
      `${EPOCH[0].replace('030719', '030721').slice(0, -3)}*${'00'}`,
    ];
    d.push(Buffer.from(`${input.join('\r\n')}\r\n`, 'latin1'));
    d.push(Uint8Array.of(0xff, 0xfe, 0x0d, 0x0a));
    d.flush();
    const s = d.stats();
    expect(s.checksumErrors).toBe(2);
    expect(s.badSentences).toBe(3);
    expect(s.garbageLines).toBe(1);
    expect(s.skippedPrefixes).toBe(1);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 5, 6, 7]);
    expect(problems[2]!.message).toContain('latitude');
    expect(problems[2]!.column).toBe(19);
    expect(fixes).toHaveLength(1);
    // The GSA was rejected (line 2): satellites and HDOP come from GGA, and there is no VDOP.
    expect(fixes[0]).toMatchObject({ mode: 3, satsUsed: 8, hdop: 1.1, altM: 59.9 });
    expect(fixes[0]!.vdop).toBeUndefined();
    expect(fixes[0]!.speedKmh).toBeCloseTo(0.69 * 1.852, 9);
  });
});

function parsed(lines: readonly string[]): NmeaSentence[] {
  return lines.map((l) => {
    const r = parseNmeaSentence(l);
    if (!r.ok) throw new Error(r.problem.message);
    return r.sentence;
  });
}

const at = (t: string, body: string) => withChecksum(body.replace('T', t));

describe('fix assembler', () => {
  it('emits one fix per epoch, at the learned last sentence once it knows it', () => {
    const fixes: GnssFix[] = [];
    const a = new FixAssembler({ onFix: (f) => fixes.push(f) });
    const epoch = (t: string) =>
      parsed([
        at(t, 'GPGGA,T,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'),
        withChecksum('GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1'),
        at(t, 'GPRMC,T,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A'),
      ]);
    for (const s of epoch('123519')) a.push(s);
    expect(fixes).toHaveLength(0); // the end of the first epoch is only known when the next starts
    for (const s of epoch('123520')) a.push(s);
    expect(fixes).toHaveLength(2); // the first closed by the second's GGA, the second by its RMC
    expect(a.ender).toBe('GPRMC');
    expect(fixes[1]).toMatchObject({
      mode: 3,
      satsUsed: 5,
      courseDeg: 84.4,
      timeMs: Date.UTC(1994, 2, 23, 12, 35, 20),
    });
  });

  it('a no-fix statement anywhere in the epoch wins, and no position is reported', () => {
    const fixes: GnssFix[] = [];
    const a = new FixAssembler({ onFix: (f) => fixes.push(f) });
    for (const s of parsed([
      at('123519', 'GPGGA,T,4807.038,N,01131.000,E,8,10,2.0,268.8,M,-33.9,M,,'),
      at('123519', 'GPRMC,T,V,4807.038,N,01131.000,E,0.0,0.0,230394,,,S'),
    ]))
      a.push(s);
    a.flush();
    expect(fixes[0]).toMatchObject({ mode: 1 });
    expect(fixes[0]!.latDeg).toBeUndefined();
  });

  it('carries the date to epochs without one, over midnight', () => {
    const fixes: GnssFix[] = [];
    const a = new FixAssembler({ onFix: (f) => fixes.push(f) });
    for (const s of parsed([
      at('235959', 'GPRMC,T,A,4807.038,N,01131.000,E,0,0,311299,,,A'),
      at('000000', 'GPGGA,T,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'),
      at('000001', 'GPGGA,T,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'),
    ]))
      a.push(s);
    a.flush();
    expect(fixes.map((f) => f.timeMs)).toEqual([
      Date.UTC(1999, 11, 31, 23, 59, 59),
      Date.UTC(2000, 0, 1, 0, 0, 0),
      Date.UTC(2000, 0, 1, 0, 0, 1),
    ]);
  });

  it('a receiver that never sends a time still gives one no-fix epoch per burst', () => {
    const fixes: GnssFix[] = [];
    const a = new FixAssembler({ onFix: (f) => fixes.push(f) });
    const burst = parsed([withChecksum('GPGGA,,,,,,0,00,,,,,,,'), withChecksum('GPRMC,,V,,,,,,,,,,N')]);
    for (let i = 0; i < 3; i++) for (const s of burst) a.push(s);
    a.flush();
    expect(fixes.map((f) => f.mode)).toEqual([1, 1, 1]);
  });
});
