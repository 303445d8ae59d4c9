import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQood } from '../../support/cli.js';
import { describeSharedData, fixturePath, projectRoot } from '../../support/system.js';

const sim = join(projectRoot(), 'simulators/vehicle');
const dir = mkdtempSync(join(tmpdir(), 'qood-can-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('qood can decode', () => {
  it('decodes standard input with a map into VSS paths in dictionary units', () => {
    const r = runQood(
      ['can', 'decode', '--dbc', join(sim, 'qood-sim.dbc'), '--map', join(sim, 'qood-sim.vss.yaml'), '-'],
      {
        input: '(1.500000) can0 3E8#0196FC1027000000\n(1.600000) can0 7FF#00\n',
      },
    );
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        t: 1.5,
        bus: 'can0',
        id: '3E8',
        message: 'BODY_STATUS',
        signals: {
          'Vehicle.Cabin.Door.Row1.DriverSide.IsLocked': true,
          'Vehicle.Powertrain.FuelSystem.RelativeLevel': 60,
          'Vehicle.LowVoltageBattery.CurrentVoltage': expect.closeTo(25.2, 6),
          'Vehicle.TraveledDistance': 1_000_000,
        },
      },
    ]);
    expect(r.stderr).toContain('2 frames, 1 decoded, 1 not in the DBC');
  });

  it('prints value-table names with --choices, and an error line for a short frame, then goes on', () => {
    const r = runQood(['can', 'decode', '--choices', '--dbc', join(sim, 'qood-sim.dbc')], {
      input: '(2.0) can0 2F0#0203\n(2.1) can0 3E8#01\n(2.2) can0 2F0#0100\n',
    });
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0].signals).toEqual({ LockRequest: 'Unlock', RequestCounter: 3 });
    expect(lines[1]).toEqual({
      t: 2.1,
      bus: 'can0',
      id: '3E8',
      message: 'BODY_STATUS',
      error: 'payload of 1 bytes; BODY_STATUS has 8',
    });
    expect(lines[2].signals.LockRequest).toBe('Lock');
  });

  it('stops at a malformed line with file:line (exit 1), or counts and skips it with --lenient', () => {
    const log = join(dir, 'bad.log');
    writeFileSync(
      log,
      '(1.0) can0 3E8#0100000000000000\n(1.1) can0 3E8#XYZ\n(1.2) can0 3E8#0000000000000000\n',
    );
    const strict = runQood(['can', 'decode', '--dbc', join(sim, 'qood-sim.dbc'), log]);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain(`${log}:2: expected hex data bytes after #`);
    expect(strict.stdout.trim().split('\n')).toHaveLength(1);
    const lenient = runQood(['can', 'decode', '--lenient', '--dbc', join(sim, 'qood-sim.dbc'), log]);
    expect(lenient.status).toBe(0);
    expect(lenient.stdout.trim().split('\n')).toHaveLength(2);
    expect(lenient.stderr).toContain('1 bad lines');
  });

  it('exits 2 with file:line for a corrupt DBC', () => {
    const dbc = join(dir, 'broken.dbc');
    writeFileSync(dbc, 'VERSION ""\nBO_ 100 M: 8 N\n SG_ S : 0|8@1+ (1,0) [0|1 "" N\n');
    const r = runQood(['can', 'decode', '--dbc', dbc, '-'], { input: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${dbc}:3: expected ']' after the range of S`);
  });
});

const CIVIC_LOG = 'can_logs/candump_real/civic_2019_type_r_turnonanddrive.log';

// The Civic log is GPL-3.0: read from the shared data folder, never copied; its DBC is a fixture.
describeSharedData('qood can decode on the real Civic log (GPL-3.0)', [CIVIC_LOG], (data) => {
  it('decodes the Civic log as a user would run it', () => {
    const r = runQood([
      'can',
      'decode',
      '--dbc',
      fixturePath('dbc/opendbc/honda_civic_hatchback_ex_2017_can_generated.fixed.dbc'),
      join(data, CIVIC_LOG),
    ]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(16_069);
    const first = JSON.parse(lines[0]!);
    // The log's first frame (112) is not in this DBC; the second (14A) is.
    expect(first).toMatchObject({ bus: 'can0', t: 1674148739.212487, id: '14A' });
    expect(r.stderr).toContain('28835 frames, 16069 decoded, 12766 not in the DBC, 0 wrong length');
  });
});
