/**
 * NMEA sentences: checksums, every decoded type with the NMEA 4.10/4.11 fields, receivers without a
 * fix, and malformed input rejected with what, where and what was expected.
 */
import { describe, expect, it } from 'vitest';
import {
  type GgaSentence,
  type GsaSentence,
  type GsvSentence,
  type NmeaSentence,
  nmeaChecksum,
  parseNmeaFrame,
  parseNmeaSentence,
  type RmcSentence,
  withChecksum,
} from '../../../../firmware-bridge/index.js';

function ok(line: string): NmeaSentence {
  const r = parseNmeaSentence(line);
  if (!r.ok) throw new Error(`${line}: ${r.problem.message}`);
  return r.sentence;
}

describe('NMEA frame and checksum', () => {
  it('computes the XOR checksum of the characters between $ and *', () => {
    expect(nmeaChecksum('GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5')).toBe('33');
    expect(withChecksum('GPVTG,0.0,T,10.5,M,0.0,N,0.0,K')).toBe('$GPVTG,0.0,T,10.5,M,0.0,N,0.0,K*7A');
  });

  it('rejects a wrong checksum, naming both values and the column', () => {
    const r = parseNmeaFrame('$GPVTG,0.0,T,10.5,M,0.0,N,0.0,K*7B');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.code).toBe('CHECKSUM_MISMATCH');
    expect(r.problem.message).toContain('*7B');
    expect(r.problem.message).toContain('*7A');
    expect(r.problem.column).toBe(32);
  });

  it('accepts lower-case hex, and a missing checksum unless it is required', () => {
    expect(parseNmeaFrame('$GPVTG,0.0,T,10.5,M,0.0,N,0.0,K*7a').ok).toBe(true);
    const r = parseNmeaFrame('$GPVTG,0.0,T,10.5,M,0.0,N,0.0,K');
    expect(r.ok && !r.frame.hasChecksum).toBe(true);
    expect(parseNmeaFrame('$GPVTG,0.0,T,10.5,M,0.0,N,0.0,K', true).ok).toBe(false);
  });

  it('rejects lines that are not sentences, and bad addresses', () => {
    const cases: [string, string][] = [
      ['GPGGA,1*00', 'NO_START'],
      ['$GPGGA,1*0', 'BAD_CHECKSUM'],
      ['$GPGGA,1*0G', 'BAD_CHECKSUM'],
      [withChecksum('GP,1,2'), 'BAD_ADDRESS'],
      [withChecksum('gpgga,1'), 'BAD_ADDRESS'],
    ];
    for (const [line, code] of cases) {
      const r = parseNmeaFrame(line);
      expect(r.ok ? 'ok' : r.problem.code, line).toBe(code);
    }
  });

  it('splits proprietary sentences as talker P', () => {
    const r = parseNmeaFrame('$PASHR,204132.000,010.51,T,+00.39,-00.79,-00.84,0.151,0.075,0.555,1,0*03');
    expect(r.ok && r.frame.talker === 'P' && r.frame.type === 'ASHR').toBe(true);
    expect(ok('$PASHR,204132.000,010.51,T,+00.39,-00.79,-00.84,0.151,0.075,0.555,1,0*03').type).toBe('other');
  });
});

describe('NMEA sentence types', () => {
  it('GGA: time, position, quality, satellites, HDOP, altitude, geoid separation, DGPS age', () => {
    const g = ok(
      '$GPGGA,204132.10,4205.733715,N,08802.040978,W,2,08,1.0,221.921,M,,,3,0138*15',
    ) as GgaSentence;
    expect(g).toMatchObject({
      type: 'GGA',
      talker: 'GP',
      quality: 2,
      satsUsed: 8,
      hdop: 1,
      altM: 221.921,
      dgpsAgeS: 3,
    });
    expect(g.timeOfDayMs).toBe(((20 * 60 + 41) * 60 + 32) * 1000 + 100);
    expect(g.latDeg).toBeCloseTo(42 + 5.733715 / 60, 12);
    expect(g.lonDeg).toBeCloseTo(-(88 + 2.040978 / 60), 12);
    expect(g.geoidSepM).toBeUndefined();
  });

  it('GGA without a fix: empty fields are absent, not zero', () => {
    const g = ok(withChecksum('GPGGA,,,,,,0,00,99.99,,,,,,')) as GgaSentence;
    expect(g.quality).toBe(0);
    expect(g.latDeg).toBeUndefined();
    expect(g.timeOfDayMs).toBeUndefined();
    expect(g.altM).toBeUndefined();
  });

  it('RMC with NMEA 4.1 mode indicator and navigational status, magnetic variation west', () => {
    const r = ok('$GNRMC,091232.000,A,4813.0535,N,00824.8697,E,0.00,0.00,101015,,,A,V*06') as RmcSentence;
    expect(r).toMatchObject({ valid: true, faaMode: 'A', navStatus: 'V', speedKn: 0, courseDeg: 0 });
    expect(r.dateMs).toBe(Date.UTC(2015, 9, 10));
    const m = ok('$GPRMC,125106,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*28') as RmcSentence;
    expect(m).toMatchObject({ valid: false, magVarDeg: -10.5, faaMode: 'S' });
    expect(m.timeOfDayMs).toBe((12 * 3600 + 51 * 60 + 6) * 1000);
  });

  it('RMC course may be empty while the speed is given (u-blox at standstill)', () => {
    const r = ok('$GNRMC,171926.00,A,4404.14063,N,12118.85478,W,0.117,,180315,,,A*76') as RmcSentence;
    expect(r.speedKn).toBe(0.117);
    expect(r.courseDeg).toBeUndefined();
  });

  it('VTG in the NMEA 2.3 form and the old form without unit letters', () => {
    expect(ok('$GNVTG,,T,,M,0.117,N,0.216,K,A*3F')).toMatchObject({ speedKmh: 0.216, faaMode: 'A' });
    const old = ok(withChecksum('GPVTG,054.7,034.4,005.5,010.2'));
    expect(old).toMatchObject({ courseDeg: 54.7, courseMagDeg: 34.4, speedKn: 5.5, speedKmh: 10.2 });
  });

  it('GSA with the NMEA 4.11 system id; two GSAs for GPS and GLONASS', () => {
    const a = ok('$GNGSA,A,3,18,21,26,27,16,20,22,29,,,,,1.3,0.7,1.1,1*31') as GsaSentence;
    const b = ok('$GNGSA,A,3,76,87,86,77,70,85,71,75,,,,,1.3,0.7,1.1,2*39') as GsaSentence;
    expect(a).toMatchObject({ navMode: 3, pdop: 1.3, hdop: 0.7, vdop: 1.1, systemId: 1 });
    expect(a.satIds).toEqual([18, 21, 26, 27, 16, 20, 22, 29]);
    expect(b.systemId).toBe(2);
  });

  it('GSV with and without the NMEA 4.10 signal id, untracked satellites without SNR', () => {
    const v = ok('$GPGSV,3,1,12,07,06,336,17,08,05,281,25,10,51,291,39,16,70,279,37,0*69') as GsvSentence;
    expect(v).toMatchObject({ total: 3, index: 1, inView: 12, signalId: 0 });
    expect(v.satellites).toHaveLength(4);
    const w = ok('$GLGSV,3,3,10,83,27,309,29,84,01,353,*63') as GsvSentence;
    expect(w.signalId).toBeUndefined();
    expect(w.satellites[1]).toEqual({ id: 84, elevationDeg: 1, azimuthDeg: 353 });
  });

  it('GLL with status and mode, ZDA with the full date, GST errors', () => {
    expect(ok('$GNGLL,4404.14066,N,12118.85481,W,171925.00,A,A*66')).toMatchObject({
      valid: true,
      faaMode: 'A',
    });
    expect(ok('$GPGLL,3854.5087,N,07726.4523,W,125106,V,S*55')).toMatchObject({ valid: false });
    const z = ok('$GPZDA,202640.000,13,04,2015,,*54');
    expect(z).toMatchObject({
      dateMs: Date.UTC(2015, 3, 13),
      timeOfDayMs: (20 * 3600 + 26 * 60 + 40) * 1000,
    });
    expect(ok(withChecksum('GPGST,172814.0,0.006,0.023,0.020,273.6,0.023,0.020,0.031'))).toMatchObject({
      latErrM: 0.023,
      lonErrM: 0.02,
      altErrM: 0.031,
    });
  });

  it('talkers GA, GB, BD, GQ and GI parse like GP', () => {
    for (const t of ['GA', 'GB', 'BD', 'GQ', 'GI'])
      expect(ok(withChecksum(`${t}GSA,A,3,01,02,03,,,,,,,,,,2.0,1.0,1.7`)).talker).toBe(t);
  });
});

describe('malformed fields', () => {
  const cases: [string, string][] = [
    [
      'GPGGA,123519,48x7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,',
      "GPGGA field 2 (latitude): found '48x7.038', expected ddmm.mmmm",
    ],
    ['GPGGA,123519,4807.038,Q,01131.000,E,1,08,0.9,545.4,M,46.9,M,,', 'field 3 (latitude hemisphere)'],
    [
      'GPGGA,126519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,',
      "field 1 (UTC time): found '126519', expected hhmmss.ss",
    ],
    ['GPGGA,123519,4807.038,N,01131.000,E,9,08,0.9,545.4,M,46.9,M,,', 'field 6 (fix quality)'],
    [
      'GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,310299,003.1,W',
      "field 9 (UTC date): found '310299', expected a calendar date",
    ],
    ['GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W', 'field 2 (status)'],
    ['GPGSA,A,5,,,,,,,,,,,,,1,1,1', 'field 2 (fix mode)'],
    ['GPGSV,2,3,08,01,40,083,46', 'field 2 (sentence number)'],
    ['GPGSV,1,1,08,01,40,083', 'four fields per satellite'],
    ['GPGGA,123519,4807.038', 'GPGGA: expected at least 9 fields, found 2'],
    [
      'GPRMC,123519,A,4807.038,N,01131.000,E,fast,084.4,230394,,',
      "field 7 (speed): found 'fast', expected a decimal number",
    ],
  ];
  for (const [body, message] of cases)
    it(`rejects ${body.slice(0, 30)}...`, () => {
      const r = parseNmeaSentence(withChecksum(body));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.problem.message).toContain(message);
        expect(r.problem.column).toBeGreaterThan(1);
      }
    });
});
