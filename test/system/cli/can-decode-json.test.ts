/**
 * `qood can decode` prints one JSON object per frame. A TRC log whose `$STARTTIME` is not a date
 * printed `{"t":NaN,...}`, which no JSON reader takes; now the line is refused with file:line and
 * the expected form, and with --lenient skipped, so every line on stdout parses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQood } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-can-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dbc = join(dir, 'one.dbc');
writeFileSync(
  dbc,
  'VERSION ""\nBU_: N\nBO_ 256 Msg: 8 N\n SG_ Speed : 0|16@1+ (0.1,0) [0|6553.5] "km/h" N\n',
);
const trc = join(dir, 'bad-start.trc');
writeFileSync(
  trc,
  ';$FILEVERSION=1.1\n;$STARTTIME=abc\n     1)     17535.4  Tx     0100  8  10 00 00 00 00 00 00 00\n',
);

describe('qood can decode on a TRC log with $STARTTIME=abc', () => {
  it('stops at line 2 naming the expected OLE date, having printed no line', () => {
    const r = runQood(['can', 'decode', '--dbc', dbc, trc]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${trc}:2: expected $STARTTIME as an OLE automation date`);
    expect(r.status).toBe(1);
  });

  it('with --lenient skips it and prints only JSON lines', () => {
    const r = runQood(['can', 'decode', '--lenient', '--dbc', dbc, trc]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(JSON.parse(lines[0]!)).toMatchObject({ t: 17.5354, id: '100', signals: { Speed: 1.6 } });
  });
});
