/**
 * Fuzzing the CAN parsers of outside data: DBC files (the parser and compiler, then decoding any
 * payload with what compiled) and candump/ASC/TRC logs (strict and lenient reads, and the JSON line
 * `qood can decode` prints for each frame). Each input either gives a valid result or the layer's
 * typed error (DbcError, CanLogError) with a code of its union; nothing else escapes, nothing hangs,
 * every printed line is JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompiledDbc, DbcError, parseDbc } from '../../agent/decode/can/index.js';
import { CanLogError, type CanLogFormat, readCanLog } from '../../simulators/can-log/index.js';
import { answersOrRefuses, fuzz, mutatedText } from '../support/fuzz.js';
import { fixturePath, projectRoot } from '../support/system.js';

const DBC_CODES = ['SYNTAX', 'DUPLICATE', 'UNKNOWN_REFERENCE', 'RANGE', 'CYCLE'] as const;
const LOG_CODES = ['BAD_LINE', 'UNKNOWN_FORMAT'] as const;

const dbcSamples = [
  readFileSync(join(projectRoot(), 'simulators/vehicle/qood-sim.dbc'), 'latin1'),
  ...['multiplex.dbc', 'multiplex_2.dbc', 'choices.dbc', 'floating_point.dbc', 'j1939.dbc', 'signed.dbc'].map(
    (f) => readFileSync(fixturePath(`dbc/cantools_tests/${f}`), 'latin1'),
  ),
];

/**
 * Checks a decoded value is something a JSON line can carry: a number (an IEEE float signal may
 * hold NaN or Infinity, which JSON.stringify prints as null), a choice's text, or null.
 */
function expectPrintable(v: unknown, where: string): void {
  if (typeof v !== 'number' && typeof v !== 'string' && v !== null) throw new Error(`${where}: ${typeof v}`);
}

describe('DBC files', () => {
  it('parse and compile to a database, or a DbcError naming file:line', () => {
    fuzz(300, [mutatedText(dbcSamples), fc.uint8Array({ minLength: 0, maxLength: 64 })], (text, payload) => {
      const dbc = answersOrRefuses(
        () => new CompiledDbc(parseDbc(text, 'f.dbc')),
        [{ type: DbcError, codes: DBC_CODES }],
      );
      if (dbc === undefined) return;
      // Whatever compiled decodes any payload without throwing, and prints as JSON.
      for (const m of dbc.database.messages.slice(0, 8)) {
        const cm = dbc.lookup(m.id, m.extended)!;
        const d = cm.decode(payload, { choices: true });
        for (const [k, v] of Object.entries(d.signals)) expectPrintable(v, `${m.name}.${k}`);
        expect(() => JSON.parse(JSON.stringify(d.signals))).not.toThrow();
      }
    });
  });

  it('a DbcError says where', () => {
    fuzz(100, [mutatedText(dbcSamples)], (text) => {
      try {
        new CompiledDbc(parseDbc(text, 'f.dbc'));
      } catch (err) {
        if (!(err instanceof DbcError)) throw err;
        expect(err.message).toMatch(/^f\.dbc:\d+: ./);
        expect(err.line).toBeGreaterThanOrEqual(1);
      }
    });
  });
});

const logSamples: Record<CanLogFormat, string[]> = {
  candump: [
    '(1674148739.212264) can0 112#FF0015\n(1674148739.212487) can1 18DAF110#0102030405060708\n(1674148739.300000) vcan0 123##3001122334455667788990011\n(1674148739.400000) can0 7DF#R\n(1674148739.500000) can0 20000004#0004000000000000\n',
    readFileSync(fixturePath('can_logs/j1939/tests_candump.log'), 'latin1').slice(0, 2000),
  ],
  'candump-screen': [
    '  can0  123   [3]  11 22 33\n (1674148739.212264)  can0  18DAF110   [8]  01 02 03 04 05 06 07 08\n  can0  7DF   [0]  remote request\n',
  ],
  asc: [
    'date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\ninternal events logged\n   0.015991 CAN 1 Status:chip status error active\n   1.015991 1  6F9             Rx   d 8 05 0C 00 00 00 00 00 00  Length = 240015 BitCount = 124 ID = 1785\n   2.501000 1  ErrorFrame\n   3.1 CANFD   1 Rx 1A0  1 0 8  8 11 22 33 44 55 66 77 88  0 0 1000 0 0 0 0 0\n',
    'date Sat Sep 30 10:06:13 pm 2017\nbase dec  timestamps relative\n0.5 1 100 Rx d 2 01 02\n0.25 1 200x Tx d 1 09\n',
  ],
  trc: [
    ';$FILEVERSION=1.1\n;$STARTTIME=44548.6028595139\n     1)     17535.4  Tx     00000100  8  00 00 00 00 00 00 00 00\n     2)     17540.3  Warng  FFFFFFFF  4  00 00 00 08  BUSHEAVY\n     5)     19295.4  Tx         0000  8  00 00 00 00 00 00 00 00\n',
    ';$FILEVERSION=2.1\n;$STARTTIME=44548.6028595139\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n      1      1059.900 DT 1      0100 Rx - 8    01 02 03 04 05 06 07 08\n      2      1060.900 FD 1  00000200 Tx - 12   01 02 03 04 05 06 07 08 09 0A 0B 0C\n      3      1061.900 ER 1         - Rx - 5    00 00 00 00 00\n',
  ],
};

describe('CAN logs', () => {
  for (const format of Object.keys(logSamples) as CanLogFormat[]) {
    it(`${format}: a strict read gives frames or a CanLogError; a lenient read gives frames; every frame prints as JSON`, () => {
      fuzz(250, [mutatedText(logSamples[format]), fc.boolean()], (text, detect) => {
        const options = { file: 'x.log', ...(detect ? {} : { format }) };
        answersOrRefuses(() => readCanLog(text, options), [{ type: CanLogError, codes: LOG_CODES }]);
        const r = answersOrRefuses(
          () => readCanLog(text, { ...options, lenient: true }),
          [{ type: CanLogError, codes: ['UNKNOWN_FORMAT'] }],
        );
        for (const f of r?.frames ?? []) {
          expect(Number.isSafeInteger(f.wallUs), `wallUs ${f.wallUs}`).toBe(true);
          expect(f.id).toBeLessThanOrEqual(f.extended ? 0x1fffffff : 0x7ff);
          expect(f.data.length).toBeLessThanOrEqual(64);
          // The line head `qood can decode` builds by hand (cli/commands/can.ts).
          const head = `{"t":${(f.wallUs / 1e6).toFixed(6)},"bus":${JSON.stringify(f.bus)},"id":"${f.id.toString(16).toUpperCase()}"}`;
          expect(() => JSON.parse(head), head).not.toThrow();
        }
      });
    });
  }
});
