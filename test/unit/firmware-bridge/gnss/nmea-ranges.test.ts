/**
 * NMEA and gpsd values outside their physical range. A negative speed over ground used to pass, and
 * then satisfied a grant condition "speed <= 0" while the car moved; the same for a course of 400
 * degrees, a negative HDOP or a hexadecimal "number". Each is refused with the field's number, name
 * and range, so a sentence from a broken or hostile receiver never becomes a fix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GnssFix,
  type GnssSource,
  MemorySerialPair,
  NmeaDecoder,
  openGpsdClient,
  parseNmeaSentence,
  type SerialLink,
  withChecksum,
} from '../../../../firmware-bridge/index.js';
import { waitUntil } from '../../../support/cli.js';

/** The problem message of a refused sentence (fails when the sentence parses). */
function refused(body: string): string {
  const r = parseNmeaSentence(withChecksum(body));
  if (r.ok) throw new Error(`${body}: accepted as ${JSON.stringify(r.sentence)}`);
  expect(r.problem.code).toBe('BAD_FIELD');
  return r.problem.message;
}

describe('NMEA fields outside their range', () => {
  it('a negative speed over ground is refused (it would satisfy "speed <= 0" while moving)', () => {
    expect(refused('GPRMC,123519,A,4807.038,N,01131.000,E,-22.4,084.4,230394,003.1,W')).toBe(
      "GPRMC field 7 (speed): found '-22.4', expected a decimal number from 0",
    );
    expect(refused('GPVTG,054.7,T,034.4,M,005.5,N,-10.2,K')).toMatch(
      /field 7 \(speed km\/h\): found '-10\.2'/,
    );
    expect(refused('GPVTG,054.7,T,034.4,M,-5.5,N,010.2,K')).toMatch(/field 5 \(speed knots\)/);
    expect(refused('GPVTG,054.7,034.4,-5.5,010.2')).toMatch(/field 3 \(speed knots\)/);
  });

  it('course, HDOP, DOPs, satellite angles, SNR, variation, errors and DGPS age are checked too', () => {
    expect(refused('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,360.5,230394,003.1,W')).toBe(
      "GPRMC field 8 (course): found '360.5', expected a decimal number from 0 to 360",
    );
    expect(refused('GPRMC,123519,A,4807.038,N,01131.000,E,022.4,84.4,230394,181,W')).toMatch(
      /field 10 \(magnetic variation\)/,
    );
    expect(refused('GPVTG,-1,T,034.4,M,005.5,N,010.2,K')).toMatch(/field 1 \(course true\)/);
    expect(refused('GPGGA,123519,4807.038,N,01131.000,E,1,08,-0.9,545.4,M,46.9,M,,')).toMatch(
      /field 8 \(HDOP\): found '-0\.9', expected a decimal number from 0/,
    );
    expect(refused('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,-3,')).toMatch(
      /field 13 \(DGPS age\)/,
    );
    expect(refused('GPGSA,A,3,04,05,,09,12,,,24,,,,,-2.5,1.3,2.1')).toMatch(/field 15 \(PDOP\)/);
    expect(refused('GPGSV,2,1,08,01,91,083,46,02,17,308,41,12,07,344,39,14,22,228,45')).toMatch(
      /field 5 \(elevation\)/,
    );
    expect(refused('GPGSV,2,1,08,01,40,361,46,02,17,308,41,12,07,344,39,14,22,228,45')).toMatch(
      /field 6 \(azimuth\)/,
    );
    expect(refused('GPGSV,2,1,08,01,40,083,100,02,17,308,41,12,07,344,39,14,22,228,45')).toMatch(
      /field 7 \(SNR\)/,
    );
    expect(refused('GPGST,172814.0,0.006,0.023,0.020,273.6,-0.023,0.020,0.031')).toMatch(
      /field 6 \(latitude error\)/,
    );
  });

  it('a number is decimal digits: hexadecimal, exponents and Infinity are refused', () => {
    for (const v of ['0x10', '1e3', 'Infinity', '+5', '.']) {
      expect(refused(`GPRMC,123519,A,4807.038,N,01131.000,E,${v},084.4,230394,003.1,W`)).toMatch(
        /field 7 \(speed\)/,
      );
    }
  });

  it('values at the ends of their ranges still parse', () => {
    const r = parseNmeaSentence(
      withChecksum('GPRMC,123519,A,9000.000,S,18000.000,W,0.0,360.0,230394,180.0,E'),
    );
    expect(r.ok).toBe(true);
    const g = parseNmeaSentence(withChecksum('GPGSV,1,1,01,01,-5,359,0'));
    expect(g.ok).toBe(true);
  });

  it('the decoder never builds a fix from a sentence with a negative speed', () => {
    const fixes: GnssFix[] = [];
    const problems: string[] = [];
    const dec = new NmeaDecoder({ onFix: (f) => fixes.push(f), onProblem: (p) => problems.push(p.message) });
    for (const body of [
      'GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,',
      'GPRMC,123519,A,4807.038,N,01131.000,E,-22.4,084.4,230394,003.1,W',
      'GPGGA,123520,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,',
    ])
      dec.pushLine(withChecksum(body));
    dec.flush();
    expect(problems).toEqual([expect.stringContaining('field 7 (speed)')]);
    expect(fixes.length).toBeGreaterThan(0);
    for (const f of fixes) expect(f.speedKmh).toBeUndefined();
  });
});

describe('gpsd reports outside their range', () => {
  let src: GnssSource | undefined;
  afterEach(async () => {
    await src?.close();
    src = undefined;
  });

  it('a TPV with a negative speed, a course of 400 or a latitude of 91 is bad input, not a fix', async () => {
    let far: SerialLink | undefined;
    src = await openGpsdClient({
      host: 'gpsd',
      port: 2947,
      connect: async () => {
        const p = new MemorySerialPair('near', 'far');
        far = p.b;
        return p.a;
      },
    });
    const fixes: GnssFix[] = [];
    src.onFix((f) => fixes.push(f));
    await waitUntil(() => far !== undefined, 10_000, 'connect');
    await far!.write(
      [
        '{"class":"TPV","mode":2,"lat":1.5,"lon":2.5,"speed":-5}',
        '{"class":"TPV","mode":2,"lat":1.5,"lon":2.5,"track":400}',
        '{"class":"TPV","mode":2,"lat":91,"lon":2.5}',
        '{"class":"SKY","hdop":-1}',
        '{"class":"TPV","mode":2,"lat":1.5,"lon":2.5,"speed":5}',
        '',
      ].join('\n'),
    );
    await waitUntil(() => fixes.some((f) => f.speedKmh === 18), 10_000, 'the good fix');
    expect(fixes).toHaveLength(1);
    expect(fixes[0]).toMatchObject({ latDeg: 1.5, speedKmh: 18 });
    expect(fixes[0]!.hdop).toBeUndefined();
    expect(src.stats()).toMatchObject({ fixes: 1, badInput: 4 });
  });
});
