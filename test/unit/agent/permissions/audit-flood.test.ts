/**
 * Issue 14, attack 10: a flood of garbage commands filled the disk. Every message on any
 * `control/+/cmd` topic wrote an undeletable audit row with a full fsync (3,000 messages: 5.1 MB,
 * never pruned). Refusals of messages that prove no grantee sent them are now counted per minute
 * and grant, and the audit log is bounded by a rotation that keeps its hash chain verifiable. Real
 * SQLite files throughout; the flood's file size is measured on disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUDIT_GENESIS,
  type AuditEntry,
  auditHash,
  SqlitePermissionStore,
} from '../../../../agent/store/index.js';
import { toHex } from '../../../../chain/index.js';
import { keyPair, parked, permissionRig } from '../../../support/permissions.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const sizeOf = (path: string) => {
  let n = 0;
  for (const p of [path, `${path}-wal`])
    try {
      n += statSync(p).size;
    } catch {}
  return n;
};

function entry(i: number): AuditEntry {
  return {
    atMs: 1_760_000_000_000 + i,
    kind: 'control',
    grantId: 'cd'.repeat(32),
    actor: 'ef'.repeat(32),
    command: 'unlock',
    args: '{}',
    nonce: toHex(new Uint8Array(16).fill(i & 0xff)),
    messageId: toHex(new Uint8Array(32).fill(i & 0xff)),
    outcome: 'executed',
    reason: 'OK',
    detail: `command ${i}`,
    framesWritten: 2,
  };
}

describe('attack 10: garbage commands', () => {
  it('3,000 garbage control messages write at most a handful of audit rows and the file stays small', async () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-flood-'));
    const path = join(dir, 'agent.db');
    const store = new SqlitePermissionStore({ path });
    const rig = permissionRig({ store });
    parked(rig);
    const held = rig.grant('control', ['lock', 'unlock']);
    const stranger = keyPair();
    const emptySize = sizeOf(path);
    const codes = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const randomGrant = toHex(new Uint8Array(randomBytes(32)));
      let topic: string;
      let bytes: Uint8Array;
      switch (i % 5) {
        case 0: // undecodable bytes on the held grant's topic
          topic = held;
          bytes = new Uint8Array(randomBytes(200));
          break;
        case 1: // a made-up grant on a made-up topic
          topic = randomGrant;
          bytes = rig.command(randomGrant, 'unlock', { signer: stranger.signer });
          break;
        case 2: // the held grant, a stranger's signature
          topic = held;
          bytes = rig.command(held, 'unlock', { signer: stranger.signer });
          break;
        case 3: {
          // the held grant, the grantee's key named but the signature broken
          topic = held;
          bytes = rig.command(held, 'unlock');
          bytes[bytes.length - 5]! ^= 0x40;
          break;
        }
        default: // an oversized message on some topic
          topic = i % 2 === 0 ? held : randomGrant;
          bytes = new Uint8Array(5000);
      }
      const r = await rig.perms.control!.handle(topic, bytes);
      expect(r.receipt.outcome).toBe('refused');
      codes.set(r.receipt.reason, (codes.get(r.receipt.reason) ?? 0) + 1);
    }
    expect([...codes.keys()].sort()).toEqual([
      'BAD_SIGNATURE',
      'MALFORMED',
      'OVERSIZED',
      'UNKNOWN_GRANT',
      'WRONG_GRANTEE',
    ]);
    expect(rig.wire.sent).toHaveLength(0);
    // The owner reads the log: the window's counts are written out.
    const rows = (await rig.perms.localMethods().audit!({ limit: 10_000 })) as {
      outcome: string;
      args: string;
    }[];
    expect(rows.length).toBeLessThanOrEqual(5);
    const summaries = rows.filter((r) => r.outcome === 'summarised');
    expect(summaries.reduce((n, r) => n + (JSON.parse(r.args) as { count: number }).count, 0)).toBe(3000);
    const grown = sizeOf(path) - emptySize;
    expect(grown).toBeLessThan(64 * 1024);
    // An authenticated command is still audited on its own.
    const ok = await rig.perms.control!.handle(held, rig.command(held, 'lock'));
    expect(ok.receipt.outcome).toBe('executed');
    expect(store.audit({ limit: 1 })[0]).toMatchObject({ outcome: 'executed', command: 'lock' });
    // The owner's check of the chain (`qood audit --verify`).
    expect(await rig.perms.localMethods()['audit.verify']!({})).toMatchObject({ ok: true, anchorSeq: 0 });
    store.close();
  }, 120_000);
});

describe('attack 10: the audit log is bounded and stays verifiable', () => {
  it('the audit log rotates at its bound and the remaining chain still verifies', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-rotate-'));
    const path = join(dir, 'agent.db');
    let store = new SqlitePermissionStore({ path, synchronous: 'normal', auditMaxRows: 100 });
    for (let i = 0; i < 350; i++) store.appendAudit(entry(i));
    const rows = store.audit({ limit: 1000 });
    expect(rows.length).toBeLessThanOrEqual(100);
    expect(rows.filter((r) => r.kind === 'rotate').length).toBeGreaterThanOrEqual(1);
    const v = store.verifyAudit();
    expect(v).toMatchObject({ ok: true, rows: rows.length });
    expect(v.anchorSeq).toBeGreaterThan(200);
    expect(rows[0]!.seq).toBe(v.anchorSeq + 1);
    // The newest rows are the ones kept.
    expect(rows.at(-1)).toMatchObject({ detail: 'command 349' });
    store.close();
    store = new SqlitePermissionStore({ path, synchronous: 'normal', auditMaxRows: 100 });
    expect(store.verifyAudit()).toMatchObject({ ok: true, anchorSeq: v.anchorSeq, headHash: v.headHash });
    store.close();
  });

  it('a tampered row after rotation is detected', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-tamper-'));
    const path = join(dir, 'agent.db');
    let store = new SqlitePermissionStore({ path, synchronous: 'normal', auditMaxRows: 100 });
    for (let i = 0; i < 250; i++) store.appendAudit(entry(i));
    const before = store.verifyAudit();
    expect(before.ok).toBe(true);
    const victim = before.anchorSeq + 10;
    store.close();
    // Someone with the SD card: drops the trigger and rewrites a refusal as an execution.
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_no_update');
    db.prepare("UPDATE audit SET detail = 'nothing happened' WHERE seq = ?").run(victim);
    db.close();
    store = new SqlitePermissionStore({ path, synchronous: 'normal', auditMaxRows: 100 });
    expect(store.verifyAudit()).toMatchObject({ ok: false, badSeq: victim });
    store.close();
    // A row deleted from the middle is found too.
    const db2 = new Database(path);
    db2.exec('UPDATE audit_rotating SET active = 1');
    db2.prepare('DELETE FROM audit WHERE seq = ?').run(victim + 5);
    db2.exec('UPDATE audit_rotating SET active = 0');
    db2.close();
    store = new SqlitePermissionStore({ path, synchronous: 'normal', auditMaxRows: 100 });
    expect(store.verifyAudit()).toMatchObject({ ok: false, badSeq: victim });
    store.close();
  });

  it('a row hash is SHA-256 of "qood/audit/v1", a zero byte, the previous hash and the JSON of the row (pinned)', () => {
    const row = { ...entry(0), seq: 1 };
    const fields = [
      1,
      row.atMs,
      'control',
      row.grantId,
      row.actor,
      'unlock',
      '{}',
      row.nonce,
      row.messageId,
      'executed',
      'OK',
      'command 0',
      2,
    ];
    const independent = createHash('sha256')
      .update(Buffer.from('qood/audit/v1\0'))
      .update(Buffer.alloc(32))
      .update(JSON.stringify(fields))
      .digest('hex');
    expect(auditHash(AUDIT_GENESIS, row)).toBe(independent);
    // Pinned (also recomputed with Python's hashlib and json): a change to the chain's bytes
    // breaks every log already written.
    expect(independent).toBe('d321ac4edd25f51889bf595f2456d0574fd5b90630b44eb2666f748c8f2bd628');
  });

  it('only the rotation deletes: a careless DELETE or UPDATE is refused', () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-append-'));
    const path = join(dir, 'agent.db');
    const store = new SqlitePermissionStore({ path, synchronous: 'normal' });
    store.appendAudit(entry(1));
    store.close();
    const db = new Database(path);
    expect(() => db.exec('DELETE FROM audit')).toThrow(/append-only/);
    expect(() => db.exec("UPDATE audit SET detail = 'x'")).toThrow(/append-only/);
    db.close();
  });
});
