/**
 * The DBC parser and decoder on real files: every DBC in test/fixtures (opendbc, cantools' test files,
 * CSS Electronics, the Tesla Model 3 DBC) loads, the two opendbc originals strict parsers reject load
 * with warnings naming each line, cantools' expected decodes and pretty_j1939's truck frames decode
 * alike, and the real Civic and Yaris logs (GPL-3.0, read from the shared data folder) decode to
 * cantools' values in their oracles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompiledDbc, DbcError, loadDbcFile, parseDbc } from '../../../../agent/decode/can/index.js';
import { readCanLog } from '../../../../simulators/can-log/index.js';
import { describeSharedData, fixturePath, fixturesDir, projectRoot } from '../../../support/system.js';

/** Relative closeness for floats, exact for integers and strings. */
function expectClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = Math.max(1e-9, Math.abs(expected) * 1e-6);
    if (Math.abs(actual - expected) > tol) throw new Error(`${where}: got ${actual}, expected ${expected}`);
    return;
  }
  expect(actual, where).toEqual(expected);
}

describe('DBC files from test/fixtures', () => {
  const data = fixturesDir();
  const dbcDirs = ['dbc/opendbc', 'dbc/cantools_tests', 'dbc/css_electronics', 'dbc/kuksa_tesla_model3'];
  const all = dbcDirs.flatMap((d) =>
    readdirSync(fixturePath(d))
      .filter((f) => f.endsWith('.dbc'))
      .map((f) => join(data, d, f)),
  );

  it('finds the DBCs', () => {
    expect(all.length).toBeGreaterThanOrEqual(24);
  });

  for (const file of all) {
    it(`loads ${file.slice(data.length + 1)}`, () => {
      const db = loadDbcFile(file);
      expect(db.database.messages.length).toBeGreaterThan(0);
      const originals =
        file.endsWith('honda_civic_hatchback_ex_2017_can_generated.dbc') ||
        file.endsWith('hyundai_can_generated.dbc');
      // Only the two originals break the grammar; other files may refer to signals they never define,
      // which is worth a warning but not a strict-parser rejection.
      const grammar = db.database.warnings.filter((w) => !/refers to|not terminated/.test(w.message));
      if (!originals) expect(grammar.map((w) => `${w.line}: ${w.message}`)).toEqual([]);
    });
  }

  it('loads the Honda original with warnings naming each line strict parsers reject', () => {
    const db = loadDbcFile(fixturePath('dbc/opendbc/honda_civic_hatchback_ex_2017_can_generated.dbc'));
    const w = db.database.warnings;
    expect(w).toContainEqual({ line: 211, message: 'CM_ SG_ 304 has no signal name; comment ignored' });
    expect(w).toContainEqual({ line: 212, message: 'CM_ SG_ 316 has no signal name; comment ignored' });
    expect(w.find((x) => x.line === 392)?.message).toMatch(
      /LKAS_HUD_A: id 13274 \(0x33da\) exceeds 11 bits but lacks the extended flag/,
    );
    expect(db.byName('LKAS_HUD_A')?.message.extended).toBe(true);
  });

  it('loads the Hyundai original with warnings for comments without an object type', () => {
    const db = loadDbcFile(fixturePath('dbc/opendbc/hyundai_can_generated.dbc'));
    expect(db.database.warnings.map((w) => w.line)).toEqual([1659, 1660]);
    expect(db.database.warnings[0]?.message).toContain('CM_ 145 has no object type');
  });

  it('decodes every vector of expected_decodes.json as cantools does', () => {
    const vectors = JSON.parse(readFileSync(fixturePath('dbc/cantools_tests/expected_decodes.json'), 'utf8'))
      .vectors as Record<string, unknown>[];
    let checked = 0;
    for (const v of vectors) {
      const db = loadDbcFile(fixturePath(`dbc/cantools_tests/${v.dbc as string}`));
      const msg =
        v.message !== undefined
          ? db.byName(v.message as string)
          : db.lookup(v.frame_id as number, (v.frame_id as number) > 0x7ff);
      expect(msg, `${v.test}`).toBeDefined();
      if (v.expected_metadata) {
        const meta = v.expected_metadata as { is_extended_frame: boolean; protocol: string };
        expect(msg!.message.extended).toBe(meta.is_extended_frame);
        expect(msg!.message.j1939).toBe(meta.protocol === 'j1939');
        expect(msg!.message.id).toBe(v.frame_id);
        checked++;
        continue;
      }
      const data8 = Buffer.from(v.data_hex as string, 'hex');
      const decoded = msg!.decode(data8, { choices: v.decode_choices === true, raw: v.scaling === false });
      if (v.expected_cli_error) {
        expect(decoded.lengthMismatch).toEqual({ expected: msg!.message.length, actual: data8.length });
        checked++;
        continue;
      }
      // cantools ignores bytes beyond the message's length (allow_excess); fewer bytes need allow_truncated.
      if (v.allow_truncated !== true)
        expect(data8.length, `${v.test}`).toBeGreaterThanOrEqual(msg!.message.length);
      const expected = v.expected as Record<string, unknown>;
      expect(Object.keys(decoded.signals).sort(), `${v.test}`).toEqual(Object.keys(expected).sort());
      for (const [k, e] of Object.entries(expected)) expectClose(decoded.signals[k], e, `${v.test} ${k}`);
      checked++;
    }
    expect(checked).toBe(25);
  });

  it('decodes J1939 truck frames by PGN whatever their source address, and marks "not available"', () => {
    const db = loadDbcFile(fixturePath('dbc/css_electronics/CSS-Electronics-SAE-J1939-DEMO.dbc'));
    const log = readCanLog(
      readFileSync(fixturePath('can_logs/j1939/truck_frames_from_README.log'), 'utf8')
        .split('\n')
        .map((l) => l.split(' ; ')[0])
        .join('\n'),
    );
    const eec1 = log.frames.find((f) => f.id === 0x0cf00400)!;
    // pretty_j1939 decodes this frame's Engine Speed as 649.0 rpm (source address 0x00, the DBC says 0xFE).
    expect(db.lookup(eec1.id, true)?.decode(eec1.data).signals).toEqual({ EngineSpeed: 649 });
    const ccvs = log.frames.find((f) => f.id === 0x18fef131)!;
    // Wheel-based speed bytes are FF FF: J1939 "not available", not 255.99 km/h.
    expect(db.lookup(ccvs.id, true)?.decode(ccvs.data).signals).toEqual({ WheelBasedVehicleSpeed: null });
  });
});

const CAN_LOGS = ['civic_2019_type_r_turnonanddrive', 'yaris_2009_accellog'];

// The logs are GPL-3.0 (ElDominio/CANBUSlogs), and their oracles are made from them: both stay in the
// shared data folder. The DBCs they pair with are in the fixtures.
describeSharedData(
  "real CAN logs (GPL-3.0) against cantools' oracle",
  CAN_LOGS.flatMap((n) => [
    `can_logs/candump_real/${n}.log`,
    `can_logs/candump_real/${n}.cantools_oracle.json`,
  ]),
  (data) => {
    for (const name of CAN_LOGS) {
      it(`decodes ${name}.log to cantools' values in its oracle`, () => {
        const oracle = JSON.parse(
          readFileSync(join(data, `can_logs/candump_real/${name}.cantools_oracle.json`), 'utf8'),
        ) as {
          dbc: string;
          vectors: {
            line: number;
            can_id: string;
            message: string;
            data_hex: string;
            decoded: Record<string, number> | null;
            error?: string;
          }[];
        };
        const db = loadDbcFile(fixturePath(`dbc/opendbc/${oracle.dbc}`));
        const log = readCanLog(readFileSync(join(data, `can_logs/candump_real/${name}.log`), 'utf8'), {
          file: name,
        });
        expect(oracle.vectors.length).toBeGreaterThan(5);
        for (const v of oracle.vectors) {
          // The oracle names the log line; the frame read from that line must carry the same bytes.
          const frame = log.frames[v.line - 1]!;
          expect(frame.id).toBe(Number.parseInt(v.can_id, 16));
          expect(Buffer.from(frame.data).toString('hex').toUpperCase()).toBe(v.data_hex.toUpperCase());
          const msg = db.lookup(frame.id, frame.extended);
          expect(msg?.message.name).toBe(v.message);
          const decoded = msg!.decode(frame.data);
          if (v.decoded === null) {
            // cantools refuses a frame shorter than the DBC says; so do we, naming both lengths.
            const m = /Wrong data size: (\d+) instead of (\d+) bytes/.exec(v.error ?? '');
            expect(decoded.lengthMismatch).toEqual({ actual: Number(m![1]), expected: Number(m![2]) });
            continue;
          }
          expect(decoded.lengthMismatch).toBeUndefined();
          expect(Object.keys(decoded.signals).sort()).toEqual(Object.keys(v.decoded).sort());
          for (const [k, e] of Object.entries(v.decoded))
            expectClose(decoded.signals[k], e, `line ${v.line} ${v.message}.${k}`);
        }
      });
    }
  },
);

it('rejects a corrupt DBC with file:line and what was expected', () => {
  const text = 'VERSION ""\n\nBO_ 100 Msg: 8 Node\n SG_ Speed : 0|16@1+ (0.1,0) [0|100 "km/h" Node\n';
  expect(() => parseDbc(text, 'broken.dbc')).toThrow(DbcError);
  expect(() => parseDbc(text, 'broken.dbc')).toThrow(
    'broken.dbc:4: expected \']\' after the range of Speed; found "km/h"',
  );
  expect(() => parseDbc('BO_ 100 Msg: 8 Node\n SG_ X : 0|8@2+ (1,0) [0|1] "" N\n', 'b.dbc')).toThrow(
    /b\.dbc:2: expected byte order 0 \(Motorola\) or 1 \(Intel\) for X; found '2'/,
  );
  expect(() => parseDbc('BO_ 1 A: 8 N\nBO_ 1 B: 8 N\n', 'd.dbc')).toThrow(
    'd.dbc:2: message id 1 defined twice',
  );
  expect(() => parseDbc('CM_ "unterminated\n', 'u.dbc')).toThrow(/u\.dbc:1: string not terminated/);
  expect(() => parseDbc('BO_ 1 A: 99 N\n', 'l.dbc')).toThrow(
    'l.dbc:1: message A: length 99; expected 0..64 bytes',
  );
  expect(() => parseDbc('FOO_ bar;\n', 'k.dbc')).toThrow(/k\.dbc:1: expected a DBC keyword/);
});

it('compiles the simulator DBC, which the repository ships', () => {
  const db = new CompiledDbc(
    parseDbc(readFileSync(join(projectRoot(), 'simulators/vehicle/qood-sim.dbc'), 'utf8')),
  );
  expect(db.database.warnings).toEqual([]);
  expect(db.byName('ENGINE_DATA')?.message.cycleTimeMs).toBe(20);
  expect(db.byName('AMBIENT_CONDITIONS')?.message).toMatchObject({ id: 0x18fef501, extended: true });
});
