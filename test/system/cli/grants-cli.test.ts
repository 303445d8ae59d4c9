/**
 * The owner's commands as a user runs them: `qood keys` makes a seed and pairs the device, the real
 * agent runs as a child process with a permissions section, and `qood grants issue | install |
 * list | show | revoke` and `qood audit` talk to it over its local socket. A revoke shows in the
 * very next `list`; the outbox in the SQLite file holds the revoke request and the owner-signed
 * revoke transaction afterwards.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSignedTx } from '../../../chain/index.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { keyPair } from '../../support/permissions.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-grants-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (args: string[]) => {
  const r = runQood(args);
  if (r.status !== 0) throw new Error(`qood ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};

describe('qood grants and qood audit against a running agent', () => {
  it('issues, installs, lists, shows, revokes at once and audits', async () => {
    const seed = join(dir, 'seed.txt');
    const data = join(dir, 'data');
    const sock = join(dir, 'agent.sock');
    const db = join(dir, 'agent.db');
    mkdirSync(data, { mode: 0o700 });
    const owner = ok(['keys', 'new-seed', '--out', seed]).trim().split(' ').pop()!;
    ok(['keys', 'pair', '--seed-file', seed, '--vehicle', 'cli-car', '--data-dir', data]);
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `device:\n  vehicleId: cli-car\n  dataDir: ${data}\n  socketPath: ${sock}\nstorage:\n  path: ${db}\npermissions:\n  chainId: qood-test\nlog:\n  level: warn\n`,
    );
    const agent = startQood(['agent', '--config', cfg]);
    const out = collectOutput(agent);
    try {
      await waitUntil(() => existsSync(sock), 15_000, 'the agent socket');
      const grantee = keyPair().hex;
      const issue = (file: string, seedFile = seed) =>
        ok([
          'grants',
          'issue',
          '--seed-file',
          seedFile,
          '--vehicle',
          'cli-car',
          '--grantee',
          grantee,
          '--kind',
          'listen',
          '--scope',
          'Vehicle.Speed,Vehicle.CurrentLocation.Latitude',
          '--valid-for',
          '1h',
          '--rate-hz',
          '2',
          '--granularity',
          'Vehicle.Speed=10',
          '--pull',
          '--out',
          join(dir, file),
        ]).trim();
      const a = issue('a.grant');
      const b = issue('b.grant');
      expect(a).toMatch(/^[0-9a-f]{64}$/);
      expect(ok(['grants', 'install', join(dir, 'a.grant'), '--socket', sock])).toBe(`installed ${a}\n`);
      expect(ok(['grants', 'install', join(dir, 'a.grant'), '--socket', sock])).toBe(
        `already installed ${a}\n`,
      );
      ok(['grants', 'install', join(dir, 'b.grant'), '--socket', sock]);

      // A grant signed by another seed is refused with the reason, exit 2.
      const other = join(dir, 'other-seed.txt');
      ok(['keys', 'new-seed', '--out', other]);
      issue('forged.grant', other);
      const forged = runQood(['grants', 'install', join(dir, 'forged.grant'), '--socket', sock]);
      expect(forged.status).toBe(2);
      expect(forged.stderr).toContain('NOT_OWNER');

      const list = ok(['grants', 'list', '--socket', sock]);
      expect(list).toContain(`${a.slice(0, 16)}  listen   active`);
      const shown = JSON.parse(ok(['grants', 'show', a.slice(0, 10), '--socket', sock])) as {
        terms: { rateHz: number; granularity: Record<string, number>; pull: boolean };
      };
      expect(shown.terms).toMatchObject({ rateHz: 2, granularity: { 'Vehicle.Speed': 10 }, pull: true });

      // Revoke without the seed: effective when the command returns, a request queued for the wallet.
      expect(ok(['grants', 'revoke', a.slice(0, 12), '--socket', sock])).toMatch(
        new RegExp(`^revoked ${a} at \\S+; revoke-request queued for the chain\\n$`),
      );
      expect(ok(['grants', 'list', '--socket', sock])).toContain(`${a.slice(0, 16)}  listen   revoked`);
      const again = runQood(['grants', 'revoke', a, '--socket', sock]);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain('already revoked');

      // Revoke with the owner's seed: the signed transaction is queued.
      const noNonce = runQood(['grants', 'revoke', b, '--seed-file', seed, '--socket', sock]);
      expect(noNonce.status).toBe(2);
      expect(noNonce.stderr).toContain('--nonce');
      expect(ok(['grants', 'revoke', b, '--seed-file', seed, '--nonce', '3', '--socket', sock])).toContain(
        'revoke queued for the chain',
      );

      const audit = ok(['audit', '--json', '--socket', sock])
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; grantId: string; outcome: string });
      expect(audit.map((r) => [r.kind, r.grantId, r.outcome])).toEqual([
        ['grant', a, 'accepted'],
        ['grant', b, 'accepted'],
        ['revoke', a, 'revoked'],
        ['revoke', b, 'revoked'],
      ]);
      expect(ok(['audit', '--grant', b.slice(0, 8), '--socket', sock])).toContain('revoked');
    } finally {
      agent.kill('SIGTERM');
    }
    expect((await waitExit(agent, 10_000)).code, out.stderr()).toBe(0);

    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(db, { readonly: true });
    const outbox = raw.prepare('SELECT kind, bytes FROM outbox ORDER BY seq').all() as {
      kind: string;
      bytes: Buffer;
    }[];
    raw.close();
    expect(outbox.map((r) => r.kind)).toEqual(['revoke-request', 'revoke']);
    const tx = decodeSignedTx(new Uint8Array(outbox[1]!.bytes));
    expect(tx.tx).toMatchObject({ kind: 'revoke', sender: owner, nonce: 3 });
  }, 60_000);
});
