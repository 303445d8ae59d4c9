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
