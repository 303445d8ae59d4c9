/**
 * The permission store's revocation file, on real SQLite files: tombstones are kept by grant id
 * whether or not the grant is held, in a file that a damaged database moved aside does not take
 * along; a damaged revocation file stops the store from opening (it is never replaced silently);
 * revoked grants of a database from before the revocation file become tombstones.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  revocationsPathOf,
  SqlitePermissionStore,
  StoreError,
} from '../../../../agent/store/index.js';
import { openStoreDatabase } from '../../../../agent/store/schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qood-perm-store-'));
  dirs.push(dir);
  return join(dir, 'agent.db');
}

const audit = (grantId: string): AuditEntry => ({
  atMs: 1,
  kind: 'revoke',
  grantId,
  actor: 'owner',
  command: '',
  args: '{}',
  nonce: '',
  messageId: grantId,
  outcome: 'revoked',
  reason: 'OK',
  detail: 'test',
  framesWritten: 0,
});

const ID = 'ab'.repeat(32);

describe('SqlitePermissionStore: revocation tombstones', () => {
  it('keeps a revocation of a grant it does not hold in the revocation file beside the database', () => {
    const path = freshPath();
    const store = new SqlitePermissionStore({ path });
    expect(store.revocationsPath).toBe(`${path}.revocations`);
    expect(revocationsPathOf(path)).toBe(`${path}.revocations`);
    expect(
      store.revokeGrant(ID, 1000, 'owner', audit(ID), { kind: 'revoke-request', bytes: new Uint8Array([1]) }),
    ).toBe(true);
    expect(store.revokeGrant(ID, 2000, 'chain', audit(ID))).toBe(false);
    expect(store.audit({ limit: 10 }).map((r) => r.kind)).toEqual(['revoke']);
    store.close();
    // A new database (the old one moved aside) still sees the tombstone.
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    const again = new SqlitePermissionStore({ path });
    expect(again.revocations()).toEqual([{ id: ID, atMs: 1000, by: 'owner' }]);
    expect(again.grants()).toEqual([]);
    again.close();
  });

  it('a damaged revocation file refuses to open instead of starting without it', () => {
    const path = freshPath();
    new SqlitePermissionStore({ path }).close();
    writeFileSync(revocationsPathOf(path), Buffer.alloc(8192, 0x42));
    let err: unknown;
    try {
      new SqlitePermissionStore({ path }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('NOT_A_DATABASE');
    expect((err as Error).message).toMatch(/would be honoured again/);
    expect(existsSync(revocationsPathOf(path))).toBe(true);
  });

  it('revoked grants of a database from before the revocation file become tombstones', () => {
    const path = freshPath();
    const { db } = openStoreDatabase({ path, synchronous: 'full' });
    db.prepare(
      'INSERT INTO grants (id, bundle, received_ms, revoked_ms, revoked_by, chain_paid, chain_to_ms) VALUES (?, ?, 1, 5, ?, NULL, NULL)',
    ).run(ID, Buffer.from([1]), 'owner-tx');
    db.close();
    const store = new SqlitePermissionStore({ path });
    expect(store.revocations()).toEqual([{ id: ID, atMs: 5, by: 'owner-tx' }]);
    store.close();
  });
});
