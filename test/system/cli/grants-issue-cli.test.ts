/**
 * `qood grants issue` with the owner's extension terms, as a user runs it: `--price-per-hour` and
 * `--latest-end` go into the signed grant transaction (what the chain checks `listenerPay` against
 * and the device clamps to), and every bad value exits 2 naming the option, what it got and what
 * it expects.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeGrantBundle } from '../../../agent/permissions/index.js';
import { runQood } from '../../support/cli.js';
import { keyPair } from '../../support/permissions.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-grants-issue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const FROM = '2030-01-01T00:00:00Z';
const FROM_MS = Date.parse(FROM);

describe('qood grants issue with extension terms', () => {
  const seed = join(dir, 'seed.txt');
  const grantee = keyPair().hex;
  const issue = (extra: string[], kind = 'listen', scope = 'Vehicle.Speed') =>
    runQood([
      'grants',
      'issue',
      '--seed-file',
      seed,
      '--vehicle',
      'cli-car',
      '--grantee',
      grantee,
      '--kind',
      kind,
      '--scope',
      scope,
      '--from',
      FROM,
      '--valid-for',
      '1h',
      '--out',
      join(dir, 'g.grant'),
      ...extra,
    ]);

  it('signs the price per hour and the latest end into the grant', () => {
    expect(runQood(['keys', 'new-seed', '--out', seed]).status).toBe(0);
    const body = (extra: string[]) => {
      const r = issue(extra);
      expect(r.status, r.stderr).toBe(0);
      const { tx } = decodeGrantBundle(new Uint8Array(readFileSync(join(dir, 'g.grant'))));
      if (tx.tx.kind !== 'grant') throw new Error(tx.tx.kind);
      return tx.tx.body;
    };
    expect(body(['--price-per-hour', '250', '--latest-end', '2030-01-02T00:00:00Z'])).toMatchObject({
      toMs: FROM_MS + HOUR,
      extension: { pricePerHour: 250n, latestEndMs: FROM_MS + 24 * HOUR },
    });
    // A latest end relative to the signed end, and Unix seconds.
    expect(body(['--price-per-hour', '0', '--latest-end', '+7d']).extension).toEqual({
      pricePerHour: 0n,
      latestEndMs: FROM_MS + HOUR + 7 * 24 * HOUR,
      entryPaid: 0n,
    });
    expect(
      body(['--price-per-hour', '1', '--latest-end', String((FROM_MS + 2 * HOUR) / 1000)]).extension,
    ).toEqual({ pricePerHour: 1n, latestEndMs: FROM_MS + 2 * HOUR, entryPaid: 0n });
    // The entry payment the terms require is signed in too: the chain counts it out of extensions.
    expect(
      body(['--price-per-hour', '5', '--latest-end', '+1d', '--min-paid', '40']).extension,
    ).toMatchObject({
      entryPaid: 40n,
    });
    // Without the options the grant cannot be extended (no extension terms at all).
    expect(body([]).extension).toBeUndefined();
  });

  it('refuses bad extension terms with exit 2, naming the option, what it got and what it expects', () => {
    const refused = (extra: string[], message: RegExp, kind?: string, scope?: string) => {
      const r = issue(extra, kind, scope);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    refused(
      ['--price-per-hour', '1.5', '--latest-end', '+1d'],
      /--price-per-hour: expected a whole number of QDD base units >= 0, got '1\.5'/,
    );
    refused(
      ['--price-per-hour', '-3', '--latest-end', '+1d'],
      /--price-per-hour: expected a whole number of QDD base units >= 0, got '-3'/,
    );
    refused(
      ['--price-per-hour', '10', '--latest-end', 'soon'],
      /--latest-end: expected an ISO time or Unix seconds, got 'soon'/,
    );
    refused(
      ['--price-per-hour', '10', '--latest-end', '+later'],
      /--latest-end: expected a duration .* got 'later'/,
    );
    refused(
      ['--price-per-hour', '10', '--latest-end', '2030-01-01T00:30:00Z'],
      /--latest-end: expected a time not before the grant's end 2030-01-01T01:00:00Z, got '2030-01-01T00:30:00Z'/,
    );
    refused(['--price-per-hour', '10'], /--price-per-hour: expected --latest-end too/);
    refused(['--latest-end', '+1d'], /--latest-end: expected --price-per-hour too/);
    refused(
      ['--price-per-hour', '10', '--latest-end', '+1d'],
      /--price-per-hour: extension terms are for listen grants, got --kind control/,
      'control',
      'unlock',
    );
    refused(['--min-paid', '2.5'], /--min-paid: expected a whole number of QDD base units >= 0, got '2\.5'/);
  });
});
