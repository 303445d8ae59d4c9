/**
 * Fuzzing the receiver and adapter parsers: NMEA sentences (one line, and a byte stream through the
 * decoder that builds fixes), ELM327 replies, J1979 responses through the PID decoder, and ISO-TP
 * reassembly of arbitrary CAN frames. Each input gives a result or a typed problem; nothing throws,
 * nothing hangs, and a fix or sample never carries a value outside its physical range.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObdDecoder } from '../../agent/decode/obd/index.js';
import { vssDictionary } from '../../agent/dictionary/index.js';
import type { Sample } from '../../chain/index.js';
import {
  CanWire,
  type GnssFix,
  IsoTpError,
  IsoTpLink,
  NmeaDecoder,
  parseNmeaSentence,
  withChecksum,
} from '../../firmware-bridge/index.js';
import { parseReply } from '../../firmware-bridge/obd/elm-reply.js';
import { fuzz, mutatedBytes, mutatedText } from '../support/fuzz.js';
import { fixturePath } from '../support/system.js';

const NMEA_CODES = [
  'NO_START',
  'BAD_ADDRESS',
  'BAD_CHECKSUM',
  'CHECKSUM_MISMATCH',
  'TOO_FEW_FIELDS',
  'BAD_FIELD',
];

const nmeaSamples = [
  '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47',
  '$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A',
  withChecksum('GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A'),
  withChecksum('GNGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1,1'),
  withChecksum('GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45,1'),
  withChecksum('GPGLL,4916.45,N,12311.12,W,225444,A,A'),
  withChecksum('GPZDA,201530.00,04,07,2002,00,00'),
  withChecksum('GPGST,172814.0,0.006,0.023,0.020,273.6,0.023,0.020,0.031'),
];
const driveText = readFileSync(fixturePath('nmea/drives/20100403_Z205_Switzerland_short.txt'), 'latin1');
const driveChunks = [0, 1, 2, 3].map((i) =>
  Buffer.from(driveText.slice(i * 1500, i * 1500 + 1500), 'latin1'),
);

/** A fix's values are within their physical ranges. */
function expectSaneFix(f: GnssFix): void {
  if (f.speedKmh !== undefined) expect(f.speedKmh).toBeGreaterThanOrEqual(0);
  if (f.courseDeg !== undefined)
    expect(f.courseDeg >= 0 && f.courseDeg <= 360, `course ${f.courseDeg}`).toBe(true);
  if (f.latDeg !== undefined) expect(Math.abs(f.latDeg)).toBeLessThanOrEqual(90);
  if (f.lonDeg !== undefined) expect(Math.abs(f.lonDeg)).toBeLessThanOrEqual(180);
  if (f.hdop !== undefined) expect(f.hdop).toBeGreaterThanOrEqual(0);
  for (const v of Object.values(f)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
}

describe('NMEA', () => {
  it('one line: a sentence or a problem with a code of its union, never an exception', () => {
    fuzz(1000, [mutatedText(nmeaSamples), fc.boolean()], (line, requireChecksum) => {
      const r = parseNmeaSentence(line, requireChecksum);
      if (!r.ok) {
        expect(NMEA_CODES).toContain(r.problem.code);
        expect(r.problem.message.length).toBeGreaterThan(0);
      }
    });
  });

  it('a byte stream: the decoder reports problems and builds only sane fixes', () => {
    fuzz(150, [mutatedBytes(driveChunks)], (bytes) => {
      const fixes: GnssFix[] = [];
      const dec = new NmeaDecoder({ onFix: (f) => fixes.push(f) });
      dec.push(bytes);
      dec.flush();
      for (const f of fixes) expectSaneFix(f);
    });
  });
});

const elmSamples = (
  JSON.parse(readFileSync(fixturePath('obd/elm327_conformance_pairs.json'), 'utf8')) as {
    tests: { steps: { expect: string }[] }[];
  }
).tests
  .flatMap((t) => t.steps.map((s) => s.expect))
  .filter((e) => e.length > 0)
  .concat([
    '7E8 10 14 49 02 01 31 44 34 \r7E8 21 47 50 30 30 52 35 35 \r7E8 22 42 31 32 33 34 35 36 \r\r>',
    '014\r0: 49 02 01 31 44 34\r1: 47 50 30 30 52 35 35\r2: 42 31 32 33 34 35 36\r\r>',
    '18DAF110 03 41 0D 53 \r18DAF118 03 41 0D 50 \r\r>',
    'NO DATA\r\r>',
    '7E8 03 7F 01 31 \r\r>',
  ]);

describe('ELM327 replies', () => {
  it('parse into messages, statuses and bad lines naming line, offset and expectation; never throw', () => {
    const format = fc.record({
      family: fc.constantFrom('can11' as const, 'can29' as const, 'legacy' as const, undefined),
      headers: fc.boolean(),
    });
    fuzz(
      1000,
      [mutatedText(elmSamples), fc.constantFrom('010D', '0100', '0902', 'ATI', undefined), format],
      (raw, command, f) => {
        const r = parseReply(raw, command, f);
        for (const b of r.bad) {
          expect(b.line).toBeGreaterThanOrEqual(1);
          expect(b.offset).toBeGreaterThanOrEqual(0);
          expect(b.expected.length).toBeGreaterThan(0);
        }
        for (const m of r.messages) expect(m.data.length).toBeLessThanOrEqual(4095);
      },
    );
  });
});

describe('J1979 responses through the PID decoder', () => {
  it('any response bytes decode to finite samples or to nothing', () => {
    const decoder = new ObdDecoder(vssDictionary());
    const response = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .tuple(fc.integer({ min: 0, max: 0xff }), fc.uint8Array({ maxLength: 8 }))
        .map(([pid, rest]) => Uint8Array.from([0x41, pid, ...rest])),
    );
    fuzz(2000, [response], (bytes) => {
      const out: Sample[] = [];
      decoder.decode(bytes, 1_000_000, out);
      for (const s of out)
        if (typeof s.value === 'number') expect(Number.isFinite(s.value), `${s.path} ${s.value}`).toBe(true);
    });
  });
});

const ISOTP_CODES = [
  'TIMEOUT_BS',
  'TIMEOUT_CR',
  'WRONG_SN',
  'OVERFLOW',
  'WFT_OVERRUN',
  'INVALID_FRAME',
  'TOO_LONG',
  'BUSY',
  'CLOSED',
];

/** CAN payloads biased towards ISO-TP frames: single, first, consecutive and flow control PCIs. */
const isoTpFrame = fc.oneof(
  fc.uint8Array({ maxLength: 8 }),
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 7 }))
    .map(([pci, low, rest]) => Uint8Array.from([(pci << 4) | low, ...rest])),
  fc.uint8Array({ maxLength: 64 }),
);

describe('ISO-TP reassembly', () => {
  it('arbitrary frames give whole messages within the receive limit or IsoTpErrors, never an exception', () => {
    fuzz(300, [fc.array(isoTpFrame, { maxLength: 40 })], (frames) => {
      const wire = new CanWire();
      const bus = wire.attach('tester');
      wire.attach('ecu');
      const timers = { setTimeout: () => 0, clearTimeout: () => {} };
      const link = new IsoTpLink({ bus, txId: 0x7e0, rxId: 0x7e8, timers, maxReceiveLength: 512 });
      const errors: IsoTpError[] = [];
      link.onError((e) => errors.push(e));
      link.onMessage((p) => expect(p.length).toBeLessThanOrEqual(512));
      for (const data of frames)
        wire.inject({
          id: 0x7e8,
          extended: false,
          rtr: false,
          fd: data.length > 8,
          data,
          bus: 'can0',
          wallUs: 0,
          monoUs: 0,
        });
      link.close();
      for (const e of errors) {
        expect(e).toBeInstanceOf(IsoTpError);
        expect(ISOTP_CODES).toContain(e.code);
      }
    });
  });
});
