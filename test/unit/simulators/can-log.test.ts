import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CanLogError,
  detectCanLogFormat,
  readCanLog,
  writeCandumpLog,
} from '../../../simulators/can-log/index.js';
import { describeSharedData, fixturePath } from '../../support/system.js';

describe('candump logs', () => {
  it('reads classic, extended, FD, remote and error frames', () => {
    const text = [
      '(1674148739.212264) can0 112#FF0015',
      '(1674148739.212487) can1 18DAF110#0102030405060708',
      '(1674148739.300000) vcan0 123##3001122334455667788990011',
      '(1674148739.400000) can0 7DF#R',
      '(1674148739.400001) can0 7DF#R3',
      '(1674148739.500000) can0 20000004#0004000000000000',
      '',
    ].join('\n');
    const r = readCanLog(text);
    expect(r.format).toBe('candump');
    expect(r.errorFrames).toBe(1);
    expect(r.frames.map((f) => [f.bus, f.id, f.extended, f.fd, f.rtr, f.data.length])).toEqual([
      ['can0', 0x112, false, false, false, 3],
      ['can1', 0x18daf110, true, false, false, 8],
      ['vcan0', 0x123, false, true, false, 12],
      ['can0', 0x7df, false, false, true, 0],
      ['can0', 0x7df, false, false, true, 0],
    ]);
    expect(r.frames[0]!.wallUs).toBe(1674148739212264);
    expect(r.frames[2]).toMatchObject({ brs: true, esi: true });
    expect(r.frames[4]!.dlc).toBe(3);
  });

  it('writes logs that read back to the same frames', () => {
    const r = readCanLog(
      '(1.000001) can0 112#FF0015\n(2.5) can0 1FFFFFFF##1' + '00'.repeat(64) + '\n(3.000000) can0 123#R2\n',
    );
    const again = readCanLog(writeCandumpLog(r.frames));
    expect(again.frames).toEqual(r.frames);
  });

  it('stops at a bad line with file:line and what was expected, or counts it when lenient', () => {
    const text =
      '(1.0) can0 112#FF\n(1.1) can0 112#F\n(1.2) can0 XYZ#00\n(1.3) can0 800#00\n(1.4) can0 123#001122334455667788\n(1.5) can0 124#00\n';
    expect(() => readCanLog(text, { file: 'drive.log' })).toThrow(CanLogError);
    expect(() => readCanLog(text, { file: 'drive.log' })).toThrow(
      "drive.log:2: expected hex data bytes after #; found '(1.1) can0 112#F'",
    );
    const r = readCanLog(text, { lenient: true });
    expect(r.frames.map((f) => f.id)).toEqual([0x112, 0x124]);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 4, 5]);
    expect(r.problems[2]!.message).toContain('11-bit id');
    expect(r.problems[3]!.message).toContain('at most 8 data bytes');
  });

  it('reads candump screen output with and without timestamps', () => {
    const text =
      ' (1674148739.212264)  can0  123   [3]  11 22 33\n  can0  18DAF110   [8]  01 02 03 04 05 06 07 08\n  can0  7DF   [2]  remote request\n  vcan0  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB\n';
    expect(detectCanLogFormat(text)).toBe('candump-screen');
    const r = readCanLog(text);
    expect(r.frames.map((f) => [f.id, f.extended, f.rtr, f.fd, f.data.length])).toEqual([
      [0x123, false, false, false, 3],
      [0x18daf110, true, false, false, 8],
      [0x7df, false, true, false, 0],
      [0x123, false, false, true, 12],
    ]);
    expect(r.frames[1]!.wallUs).toBe(1674148739212264);
  });

  it('rejects text that is no CAN log', () => {
    expect(() => readCanLog('hello world\nthis is not a log\n', { file: 'x.txt' })).toThrow(
      /x\.txt:1: expected a candump, ASC or TRC log/,
    );
  });
});

/** The python-can format samples these tests read (LGPL-3.0: they stay in the shared data folder). */
const FORMAT_SAMPLES = [
  'logfile.asc',
  'logfile_errorframes.asc',
  'single_frame.asc',
  'issue_1256.asc',
  'issue_1299.asc',
  'test_CanErrorFrames.asc',
  'test_CanMessage.asc',
  'test_CanRemoteMessage.asc',
  'test_CanFdMessage.asc',
  'test_CanFdMessage64.asc',
  'test_CanFdRemoteMessage.asc',
  'test_CanMessage.trc',
  'test_CanMessage_V1_1.trc',
  'test_CanMessage_V2_1.trc',
];

describeSharedData(
  'python-can format samples (LGPL-3.0)',
  FORMAT_SAMPLES.map((f) => `can_logs/formats/${f}`),
  (data) => {
    const fmt = (f: string) => readFileSync(join(data, 'can_logs/formats', f), 'utf8');

    it('reads Vector ASC: classic, extended, remote, error frames and status lines', () => {
      const r = readCanLog(fmt('logfile.asc'), { file: 'logfile.asc' });
      expect(r.format).toBe('asc');
      expect(r.errorFrames).toBe(4); // three classic, one CAN FD
      const ext = r.frames.find((f) => f.id === 0x18ebff00)!;
      expect(ext).toMatchObject({ extended: true, bus: '1', rtr: false });
      expect(Buffer.from(ext.data).toString('hex')).toBe('01a00fa6603bd140');
      expect(r.frames.filter((f) => f.rtr).map((f) => [f.id, f.dlc])).toEqual([
        [0x100, 0],
        [0x200, 0],
        [0x300, 8],
        [0x50005, 5], // a remote frame recorded in the CANFD line syntax
      ]);
      // The header's date (Sam Sep 30 15:06:13.191 2017) plus the line's offset.
      expect(ext.wallUs).toBe(Date.UTC(2017, 8, 30, 15, 6, 13, 191) * 1000 + 3_098_426);
    });

    it('reads Vector ASC CAN FD lines, with BRS/ESI and 64-byte payloads', () => {
      const r = readCanLog(fmt('test_CanFdMessage64.asc'));
      expect(r.frames.some((f) => f.fd && f.data.length === 64)).toBe(true);
      const fd = readCanLog(fmt('test_CanFdMessage.asc')).frames;
      expect(fd.map((f) => [f.id, f.extended, f.fd, f.brs, f.data.length])).toEqual([
        [0x300, false, true, true, 8],
        [0x1c4d80a7, true, true, false, 8],
        [0x30a, false, true, true, 8],
      ]);
      const remote = readCanLog(fmt('test_CanFdRemoteMessage.asc')).frames;
      expect(remote.some((f) => f.rtr && f.id === 0x50005 && f.dlc === 5)).toBe(true);
    });

    it('reads every ASC and TRC fixture without a strict error', () => {
      for (const f of [
        'logfile.asc',
        'logfile_errorframes.asc',
        'single_frame.asc',
        'issue_1256.asc',
        'issue_1299.asc',
        'test_CanErrorFrames.asc',
        'test_CanMessage.asc',
        'test_CanRemoteMessage.asc',
        'test_CanMessage.trc',
        'test_CanMessage_V1_1.trc',
        'test_CanMessage_V2_1.trc',
      ]) {
        const r = readCanLog(fmt(f), { file: f });
        expect(r.frames.length + r.errorFrames, f).toBeGreaterThan(0);
      }
    });

    it('reads PEAK TRC 1.1 and 2.1 of the same trace to the same frames', () => {
      const v1 = readCanLog(fmt('test_CanMessage_V1_1.trc'));
      const v2 = readCanLog(fmt('test_CanMessage_V2_1.trc'));
      expect(v1.format).toBe('trc');
      const key = (fs: typeof v1.frames) =>
        fs.map((f) => `${f.id.toString(16)}/${f.extended}/${f.rtr}/${Buffer.from(f.data).toString('hex')}`);
      expect(key(v1.frames)).toEqual(key(v2.frames));
      expect(v1.frames[0]).toMatchObject({ id: 0x100, extended: true });
      expect(v1.frames.find((f) => f.id === 0)?.extended).toBe(false);
      // $STARTTIME 44548.6028595139 days after 1899-12-30, plus 17535.4 ms.
      expect(Math.round(v2.frames[0]!.wallUs / 1000)).toBe(
        Math.round((44548.6028595139 - 25569) * 86400e3 + 17535.4),
      );
    });
  },
);

describe('real candump logs', () => {
  it('reads the real J1939 truck log', () => {
    const r = readCanLog(readFileSync(fixturePath('can_logs/j1939/tests_candump.log'), 'utf8'));
    expect(r.frames.length).toBe(3);
    expect(r.frames.every((f) => f.extended)).toBe(true);
  });
});

const CIVIC_LOG = 'can_logs/candump_real/civic_2019_type_r_turnonanddrive.log';

// GPL-3.0 (ElDominio/CANBUSlogs): read from the shared data folder, never copied.
describeSharedData('the real Civic log (GPL-3.0)', [CIVIC_LOG], (data) => {
  it('reads the real Civic log: 28,835 frames', () => {
    const r = readCanLog(readFileSync(join(data, CIVIC_LOG), 'utf8'));
    expect(r.frames.length).toBe(28_835);
  });
});
