/**
 * Log times that are not numbers: a TRC `$STARTTIME=abc`, a candump timestamp of 400 digits, an ASC
 * offset of 1e303 s. Each is a bad line naming file:line and the expected form, never a frame at
 * NaN or Infinity (which `qood can decode` printed as `"t":NaN`, not JSON).
 */
import { describe, expect, it } from 'vitest';
import { CanLogError, readCanLog } from '../../../simulators/can-log/index.js';

const TRC_BAD_START = [
  ';$FILEVERSION=1.1',
  ';$STARTTIME=abc',
  '     1)     17535.4  Tx     00000100  8  00 00 00 00 00 00 00 00',
  '',
].join('\n');

/** The CanLogError `fn` throws. */
function logError(fn: () => unknown): CanLogError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CanLogError) return err;
    throw err;
  }
  throw new Error('expected a CanLogError');
}

describe('log times that are not numbers', () => {
  it('a TRC $STARTTIME=abc is a bad line naming file:line and the OLE date it expected', () => {
    const e = logError(() => readCanLog(TRC_BAD_START, { file: 'x.trc' }));
    expect(e.code).toBe('BAD_LINE');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^x\.trc:2: expected \$STARTTIME as an OLE automation date/);
  });

  it('a lenient read skips the bad $STARTTIME and times frames from 0, all finite', () => {
    const r = readCanLog(TRC_BAD_START, { file: 'x.trc', lenient: true });
    expect(r.problems.map((p) => p.line)).toEqual([2]);
    expect(r.frames.map((f) => f.wallUs)).toEqual([17535400]);
  });

  it('times beyond the safe integer range of microseconds are bad lines in every format', () => {
    const cases: [string, string][] = [
      [`(${'9'.repeat(400)}.000001) can0 123#00`, 'candump'],
      [`(${'9'.repeat(20)}.000001) can0 123#00`, 'candump'],
      ['date Sat Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\n1e303 1 123 Rx d 1 00', 'asc'],
      [';$FILEVERSION=1.1\n;$STARTTIME=1e300\n     1)     1.0  Tx     0100  1  00', 'trc'],
      [';$FILEVERSION=1.1\n     1)     1e300  Tx     0100  1  00', 'trc'],
    ];
    for (const [text, format] of cases) {
      const e = logError(() => readCanLog(text, { file: 'x.log', format: format as 'asc' }));
      expect(e.code, text).toBe('BAD_LINE');
      const lenient = readCanLog(text, { file: 'x.log', format: format as 'asc', lenient: true });
      for (const f of lenient.frames) expect(Number.isSafeInteger(f.wallUs), text).toBe(true);
    }
  });
});

describe('candump screen lines the fuzz suite found', () => {
  it('an 8-digit id above 1FFFFFFF (SocketCAN flag bits) is a bad line, not a frame', () => {
    const text =
      '  can0  123   [3]  11 22 33\n (1674148739.212264)  c8DAF110   [8]  01 02 03 04 05 06 07 08\n';
    const e = logError(() => readCanLog(text, { file: 'x.log', format: 'candump-screen' }));
    expect(e.message).toMatch(/^x\.log:2: expected a 29-bit id/);
  });

  it('a length that is no CAN or CAN FD length is a bad line', () => {
    const bytes = Array(13).fill('00').join(' ');
    const e = logError(() =>
      readCanLog(`  can0  123   [13]  ${bytes}\n`, { file: 'x.log', format: 'candump-screen' }),
    );
    expect(e.message).toMatch(/^x\.log:1: expected a length of 0\.\.8, 12/);
    const rtr = logError(() =>
      readCanLog('  can0  123   [99]  remote request\n', { file: 'x.log', format: 'candump-screen' }),
    );
    expect(rtr.message).toMatch(/remote request length/);
  });
});
