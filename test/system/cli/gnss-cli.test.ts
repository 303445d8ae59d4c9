/**
 * `qood gnss decode` as a user runs it (the compiled CLI as a child process): a real receiver log to
 * one JSON line per epoch, bad input reported on stderr with its line number while decoding goes on,
 * and usage errors with exit code 2.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withChecksum } from '../../../firmware-bridge/index.js';
import { runQood } from '../../support/cli.js';
import { fixturePath } from '../../support/system.js';

describe('qood gnss decode on a real log', () => {
  it('prints one JSON line per epoch of the SiRFstarV capture, as gpsd decodes it', () => {
    const log = fixturePath('nmea/gpsd_receivers/sirfstarv-nmea.log');
    const r = runQood(['gnss', 'decode', '--json', log]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines).toHaveLength(59);
    // gpsd's first TPV of this log: lat 44.068918333, lon -121.314260000, 3D, altitude 1123.9 m.
    expect(lines[0]).toEqual({
      t: Date.UTC(2019, 1, 5, 2, 9, 35) / 1000,
      lat: 44.068918333,
      lon: -121.31426,
      altM: 1123.9,
      speedKmh: 0.074,
      courseDeg: 359.11,
      mode: 3,
      sats: 10,
      hdop: 0.9,
    });
    expect(r.stderr).toContain(
      '367 sentences (0 of other types), 59 epochs (59 3D, 0 2D, 0 no fix), 0 checksum errors, 0 bad sentences',
    );
    expect(readFileSync(log, 'latin1').length).toBeGreaterThan(0);
  });

  it('keeps every line of a 2.7 MB drive log whatever its read chunks cut (CR LF split between chunks)', () => {
    const r = runQood(['gnss', 'decode', '--json', fixturePath('nmea/drives/20100403_Z205_Switzerland.txt')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('38938 lines, 38938 sentences (7706 of other types), 10412 epochs');
    expect(r.stdout.trim().split('\n')).toHaveLength(10_412);
  });

  it('prints readable lines without --json', () => {
    const r = runQood(['gnss', 'decode', fixturePath('nmea/gpsd_receivers/bu353s4.log')]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      '2014-12-31 03:07:19.000  3D       -37.784788  175.314897  59.9 m  1.3 km/h  181.4°  8 sats  HDOP 1.1',
    );
  });
});

describe('qood gnss decode on bad input', () => {
  it('reports each bad line with its number and column on stderr, counts it, and goes on', () => {
    const good = '$GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*7D';
    const input = [
      '# a comment',
      good.replace('*7D', '*7E'),
      '\u0000\u00ff binary',
      withChecksum('GPGGA,030720.000,3747.0875,S,17518.8938,E,1,08,1.1,59.8,M,23.7,M,,0000'),
      withChecksum('GPRMC,030720.000,A,3747.0875,S,17518.8938,E,fast,181.39,311214,,,A'),
      '$GPGGA,030721.0',
      withChecksum('GPGGA,030721.000,3747.0876,S,17518.8934,E,1,08,1.1,60.1,M,23.7,M,,0000'),
    ].join('\r\n');
    const r = runQood(['gnss', 'decode', '--json', '-'], { input });
    expect(r.status).toBe(0);
    const err = r.stderr.split('\n');
    expect(err[0]).toBe('<stdin>:2:68: checksum *7E does not match the sentence (computed *7D)');
    expect(err[1]).toMatch(/^<stdin>:3:1: expected '\$' or '!' to start a sentence/);
    expect(err[2]).toBe("<stdin>:5:46: GPRMC field 7 (speed): found 'fast', expected a decimal number");
    expect(err[3]).toBe('<stdin>:6:17: GPGGA: expected at least 9 fields, found 1');
    expect(err[4]).toContain('2 epochs (2 3D, 0 2D, 0 no fix), 1 checksum errors, 3 bad sentences');
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('exits 2 on usage errors', () => {
    expect(runQood(['gnss', 'decode', '/no/such/file.nmea']).status).toBe(2);
    const w = runQood(['gnss', 'watch']);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('give either --port PATH or --gpsd HOST:PORT');
    expect(runQood(['gnss', 'watch', '--gpsd', 'nohostport']).status).toBe(2);
    expect(runQood(['gnss', 'emulate', '--link', '/tmp/x', '--rate', '50']).status).toBe(2);
  });

  it('exits 1 when the receiver is not there', () => {
    const r = runQood(['gnss', 'watch', '--port', '/dev/does-not-exist-gnss', '--count', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/dev/does-not-exist-gnss');
  });
});
