/**
 * `SqlitePermissionStore`: the permissions' state in the agent's database file (schema version 4),
 * on its own connection beside the chunk store's. Every method is one transaction; the audit table
 * refuses UPDATE and DELETE by trigger, so the log is append-only even for a careless query.
 *
 * The audit log is bounded (issue 14, attack 10: it grew without end, outside the chunk quota).
 * Each row carries a hash chained from the previous row's (auditHash). When the log holds more than
 * `auditMaxRows`, the oldest rows are deleted down to 90 % of the bound, in one transaction that
 * also records the last deleted row's seq and hash as the chain's new anchor and appends a
 * `rotate` row saying what went; `verifyAudit` then proves the remaining rows unbroken and
 * unaltered from that anchor. Only the rotation may delete: the trigger refuses DELETE unless the
 * rotation's flag is set, which it sets and clears inside its own transaction.
 *
 * Revocation tombstones live in a second, small SQLite file (`<database>.revocations` unless told
 * otherwise), always with `synchronous = FULL`. Why a file of their own: when the agent's database
 * is damaged, recover.ts renames it (and its -wal and -shm) aside and starts an empty one; grants
 * come back from the broker's retained downlink, and a tombstone kept in the same file would have
 * gone aside with the rest, so a revoked grant would install as active again (issue 14, attack 2).
 * A revocation is written to this file first and fsynced before the database commit that marks
 * the grant and queues the chain transaction: a crash between the two leaves the grant revoked
 * (the safe side) with the audit row and the outbox entry missing. A damaged revocation file is
 * not moved aside silently: opening throws, since starting without it would revive revoked grants.
 */
import { join, parse } from 'node:path';
import {
  asBlob,
  openSqliteFile,
  type SqliteDatabase,
  SqliteFileError,
  type SqliteStatement,
  type SqliteSynchronous,
} from '../../process/index.js';
import {
  type AuditEntry,
  type AuditEntry as AuditEntryType,
  type AuditQuery,
  type AuditRow,
  type AuditVerification,
  auditHash,
  CLOCK_FLOOR_CURSOR,
  DEVICE_TX_NONCE_CURSOR,
  type GrantRow,
  LISTEN_SESSION_CURSOR,
  type PermissionStore,
  type RevocationRow,
  type TxBuilder,
  verifyAuditRows,
} from './permission-store.js';
import { type AuditDbRow, auditRow, openStoreDatabase } from './schema.js';
import { StoreError } from './types.js';

/** 'QoRv' as a 32-bit integer: the revocation file's application id. */
export const REVOCATIONS_APPLICATION_ID = 0x516f5276;

/** The revocation file beside a database: `agent.db` -> `agent.db.revocations` (not moved aside with it). */
export function revocationsPathOf(databasePath: string): string {
  const p = parse(databasePath);
  return join(p.dir, `${p.base}.revocations`);
}

/** Migrations of the revocation file; index i brings it from version i to i + 1. Never edit a shipped one. */
const REVOCATION_MIGRATIONS = [
  (db: SqliteDatabase) =>
    db.exec(`
      CREATE TABLE revocations (
        grant_id   TEXT    PRIMARY KEY,   -- grant transaction id, hex; held by the device or not
        revoked_ms INTEGER NOT NULL,
        revoked_by TEXT    NOT NULL
      ) WITHOUT ROWID;
    `),
];

export interface SqlitePermissionStoreOptions {
  /** The agent's database file (grants, audit, nonces, outbox). */
  readonly path: string;
  /** Durability of the database's commits (the revocation file is always `full`). */
  readonly synchronous?: SqliteSynchronous;
  /** The revocation file (default `revocationsPathOf(path)`). */
  readonly revocationsPath?: string;
  /** Most rows the audit log keeps before its oldest are rotated away (default AUDIT_MAX_ROWS). */
  readonly auditMaxRows?: number;
}

/** The default bound of the audit log: about 20 MB of typical rows. */
export const AUDIT_MAX_ROWS = 50_000;

interface GrantDbRow {
  id: string;
  bundle: Buffer;
  received_ms: number;
  revoked_ms: number | null;
  revoked_by: string | null;
  chain_paid: string | null;
  chain_to_ms: number | null;
}

export class SqlitePermissionStore implements PermissionStore {
  readonly path: string;
  /** The revocation file. */
  readonly revocationsPath: string;
  readonly #db: SqliteDatabase;
  readonly #rdb: SqliteDatabase;
  readonly #s: Record<string, SqliteStatement>;
  readonly #auditMaxRows: number;
  #closed = false;

  /** Throws StoreError when either file cannot be used (a damaged revocation file is never replaced). */
  constructor(options: SqlitePermissionStoreOptions) {
    this.path = options.path;
    this.revocationsPath = options.revocationsPath ?? revocationsPathOf(options.path);
    this.#auditMaxRows = options.auditMaxRows ?? AUDIT_MAX_ROWS;
    this.#rdb = openRevocationFile(this.revocationsPath);
    try {
      this.#db = openStoreDatabase({
        path: options.path,
        synchronous: options.synchronous ?? 'full',
        skipQuickCheck: true,
      }).db;
    } catch (err) {
      this.#rdb.close();
      throw err;
    }
    const db = this.#db;
    const rdb = this.#rdb;
    this.#s = {
      tombstone: rdb.prepare(
        'INSERT INTO revocations (grant_id, revoked_ms, revoked_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      tombstones: rdb.prepare('SELECT * FROM revocations ORDER BY revoked_ms, grant_id'),
      revokedRows: db.prepare('SELECT id, revoked_ms, revoked_by FROM grants WHERE revoked_ms IS NOT NULL'),
      putGrant: db.prepare(
        'INSERT INTO grants (id, bundle, received_ms, revoked_ms, revoked_by, chain_paid, chain_to_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      grants: db.prepare('SELECT * FROM grants ORDER BY received_ms, id'),
      revoke: db.prepare(
        'UPDATE grants SET revoked_ms = ?, revoked_by = ? WHERE id = ? AND revoked_ms IS NULL',
      ),
      chain: db.prepare('UPDATE grants SET chain_paid = ?, chain_to_ms = ? WHERE id = ?'),
      audit: db.prepare(
        'INSERT INTO audit (seq, at_ms, kind, grant_id, actor, command, args, nonce, message_id, outcome, reason, detail, frames, hash) VALUES (@seq, @atMs, @kind, @grantId, @actor, @command, @args, @nonce, @messageId, @outcome, @reason, @detail, @framesWritten, @hash)',
      ),
      auditHead: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      anchor: db.prepare('SELECT after_seq, hash, deleted FROM audit_anchor WHERE id = 1'),
      setAnchor: db.prepare(
        'UPDATE audit_anchor SET after_seq = ?, hash = ?, rotated_ms = ?, deleted = deleted + ? WHERE id = 1',
      ),
      auditAt: db.prepare('SELECT seq, hash FROM audit WHERE seq = ?'),
      rotating: db.prepare('UPDATE audit_rotating SET active = ? WHERE id = 1'),
      rotateDelete: db.prepare('DELETE FROM audit WHERE seq <= ?'),
      auditChain: db.prepare('SELECT * FROM audit ORDER BY seq'),
      auditAll: db.prepare(
        'SELECT * FROM (SELECT * FROM audit WHERE seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      auditGrant: db.prepare(
        'SELECT * FROM (SELECT * FROM audit WHERE grant_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
      ),
      nonce: db.prepare(
        'INSERT INTO nonces (grant_id, nonce, issued_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      mark: db.prepare('SELECT high_issued_ms FROM nonce_marks WHERE grant_id = ?').pluck(),
      setMark: db.prepare(
        'INSERT INTO nonce_marks (grant_id, high_issued_ms) VALUES (?, ?) ON CONFLICT (grant_id) DO UPDATE SET high_issued_ms = MAX(high_issued_ms, excluded.high_issued_ms)',
      ),
      prune: db.prepare(
        'DELETE FROM nonces WHERE issued_ms < (SELECT m.high_issued_ms FROM nonce_marks m WHERE m.grant_id = nonces.grant_id) - ?',
      ),
      executions: db
        .prepare(
          "SELECT at_ms FROM audit WHERE grant_id = ? AND kind = 'control' AND outcome = 'executed' AND at_ms >= ? ORDER BY seq",
        )
        .pluck(),
      enqueueTx: db.prepare('INSERT INTO outbox (kind, bytes, created_ms) VALUES (?, ?, ?)'),
      cursor: db.prepare('SELECT value FROM cursors WHERE name = ?').pluck(),
      setCursor: db.prepare(
        'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
    };
    // A database written before the revocation file existed: its revoked grants become tombstones.
    const carried = this.#s.revokedRows!.all() as {
      id: string;
      revoked_ms: number;
      revoked_by: string | null;
    }[];
    rdb.transaction(() => {
      for (const r of carried) this.#s.tombstone!.run(r.id, r.revoked_ms, r.revoked_by ?? 'owner');
    })();
  }

  putGrant(row: GrantRow, audit: AuditEntry): boolean {
    this.#open();
    return this.#db.transaction(() => {
      const r = this.#s.putGrant!.run(
        row.id,
        asBlob(row.bundle),
        row.receivedMs,
        row.revokedMs,
        row.revokedBy,
        row.chainPaid === null ? null : row.chainPaid.toString(),
        row.chainToMs,
      );
      if (r.changes === 0) return false;
      this.#appendChained(audit);
      return true;
    })();
  }

  grants(): GrantRow[] {
    this.#open();
    return (this.#s.grants!.all() as GrantDbRow[]).map((r) => ({
      id: r.id,
      bundle: new Uint8Array(r.bundle),
      receivedMs: r.received_ms,
      revokedMs: r.revoked_ms,
      revokedBy: r.revoked_by,
      chainPaid: r.chain_paid === null ? null : BigInt(r.chain_paid),
      chainToMs: r.chain_to_ms,
    }));
  }

  revokeGrant(
    id: string,
    atMs: number,
    by: string,
    audit: AuditEntry,
    tx?: { kind: string; bytes: Uint8Array },
  ): boolean {
    this.#open();
    // The tombstone first, fsynced on its own (see the module comment for the order).
    if (this.#s.tombstone!.run(id, atMs, by).changes === 0) return false;
    this.#db.transaction(() => {
      this.#s.revoke!.run(atMs, by, id);
      this.#appendChained(audit);
      if (tx !== undefined) this.#s.enqueueTx!.run(tx.kind, asBlob(tx.bytes), atMs);
    })();
    return true;
  }

  revocations(): RevocationRow[] {
    this.#open();
    return (this.#s.tombstones!.all() as { grant_id: string; revoked_ms: number; revoked_by: string }[]).map(
      (r) => ({ id: r.grant_id, atMs: r.revoked_ms, by: r.revoked_by }),
    );
  }

  setChainStatus(id: string, paid: bigint, toMs: number): void {
    this.#open();
    this.#s.chain!.run(paid.toString(), toMs, id);
  }

  appendAudit(entry: AuditEntry, tx?: TxBuilder): number {
    this.#open();
    return this.#db.transaction(() => {
      const seq = this.#appendChained(entry);
      if (tx !== undefined) {
        const nonce = Number((this.#s.cursor!.get(DEVICE_TX_NONCE_CURSOR) as string | undefined) ?? '0');
        const t = tx(nonce);
        this.#s.enqueueTx!.run(t.kind, asBlob(t.bytes), entry.atMs);
        this.#s.setCursor!.run(DEVICE_TX_NONCE_CURSOR, String(nonce + 1));
      }
      return seq;
    })();
  }

  audit(q: AuditQuery): AuditRow[] {
    this.#open();
    const rows =
      q.grantId === undefined
        ? this.#s.auditAll!.all(q.afterSeq ?? 0, q.limit)
        : this.#s.auditGrant!.all(q.grantId, q.afterSeq ?? 0, q.limit);
    return (rows as AuditDbRow[]).map(auditRow);
  }

  verifyAudit(): AuditVerification {
    this.#open();
    // One read transaction, so a concurrent rotation cannot move the anchor under the scan.
    return this.#db.transaction(() => {
      const a = this.#s.anchor!.get() as { after_seq: number; hash: string };
      const rows = this.#s.auditChain!.iterate() as Iterable<AuditDbRow & { hash: string }>;
      // A generator over for-of, so stopping at a bad row also closes the statement's iterator.
      const mapped = {
        *[Symbol.iterator]() {
          for (const r of rows) yield { ...auditRow(r), hash: r.hash };
        },
      };
      return verifyAuditRows(mapped, a.after_seq, a.hash);
    })();
  }

  /** Appends a row with its seq and chained hash (inside the caller's transaction); rotates past the bound. */
  #appendChained(entry: AuditEntryType): number {
    const seq = this.#insertChained(entry);
    const anchor = this.#s.anchor!.get() as { after_seq: number };
    if (seq - anchor.after_seq > this.#auditMaxRows) this.#rotate(seq, entry.atMs);
    return seq;
  }

  #insertChained(entry: AuditEntryType): number {
    const head = this.#s.auditHead!.get() as { seq: number; hash: string } | undefined;
    const anchor =
      head ??
      (() => {
        const a = this.#s.anchor!.get() as { after_seq: number; hash: string };
        return { seq: a.after_seq, hash: a.hash };
      })();
    const row: AuditRow = { ...entry, seq: anchor.seq + 1 };
    this.#s.audit!.run({ ...row, hash: auditHash(anchor.hash, row) });
    return row.seq;
  }

  /**
   * Deletes the oldest rows down to 90 % of the bound; the last deleted row's hash becomes the
   * anchor, and a `rotate` row (chained like any other) says what went. Inside the caller's
   * transaction, so the rows, the anchor and the note commit together or not at all.
   */
  #rotate(headSeq: number, atMs: number): void {
    const keep = Math.max(1, Math.floor(this.#auditMaxRows * 0.9));
    const cutSeq = headSeq - keep;
    const cut = this.#s.auditAt!.get(cutSeq) as { seq: number; hash: string } | undefined;
    if (cut === undefined) return;
    const before = this.#s.anchor!.get() as { after_seq: number };
    this.#s.rotating!.run(1);
    const deleted = this.#s.rotateDelete!.run(cutSeq).changes;
    this.#s.rotating!.run(0);
    this.#s.setAnchor!.run(cutSeq, cut.hash, atMs, deleted);
    this.#insertChained({
      atMs,
      kind: 'rotate',
      grantId: null,
      actor: 'device',
      command: '',
      args: JSON.stringify({
        deleted,
        fromSeq: before.after_seq + 1,
        toSeq: cutSeq,
        maxRows: this.#auditMaxRows,
      }),
      nonce: '',
      messageId: cut.hash,
      outcome: 'rotated',
      reason: 'OK',
      detail: `rows ${before.after_seq + 1}..${cutSeq} deleted (bound ${this.#auditMaxRows} rows); the chain continues from row ${cutSeq}'s hash ${cut.hash}`,
      framesWritten: 0,
    });
  }

  recordNonce(grantId: string, nonce: string, issuedMs: number, windowMs?: number): boolean {
    this.#open();
    return this.#db.transaction(() => {
      const mark = this.#s.mark!.get(grantId) as number | undefined;
      // Behind the grant's mark by more than the window: its nonce may have been forgotten.
      if (windowMs !== undefined && mark !== undefined && issuedMs < mark - windowMs) return false;
      if (this.#s.nonce!.run(grantId, nonce, issuedMs).changes === 0) return false;
      this.#s.setMark!.run(grantId, issuedMs);
      return true;
    })();
  }

  pruneNonces(windowMs: number): number {
    this.#open();
    return this.#s.prune!.run(windowMs).changes;
  }

  nextListenSession(nowMs: number): number {
    this.#open();
    return this.#db.transaction(() => {
      const last = Number((this.#s.cursor!.get(LISTEN_SESSION_CURSOR) as string | undefined) ?? '0');
      const next = Math.max(Math.floor(nowMs), last + 1);
      this.#s.setCursor!.run(LISTEN_SESSION_CURSOR, String(next));
      return next;
    })();
  }

  clockFloor(): number | undefined {
    this.#open();
    const v = this.#s.cursor!.get(CLOCK_FLOOR_CURSOR) as string | undefined;
    return v === undefined ? undefined : Number(v);
  }

  saveClockFloor(ms: number): void {
    this.#open();
    this.#s.setCursor!.run(CLOCK_FLOOR_CURSOR, String(Math.floor(ms)));
  }

  executionsSince(grantId: string, sinceMs: number): number[] {
    this.#open();
    return this.#s.executions!.all(grantId, sinceMs) as number[];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    this.#rdb.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', this.path, 'the permission store is closed');
  }
}

/** Opens the revocation file (FULL sync, checked), mapping its errors to StoreError with the fix. */
function openRevocationFile(path: string): SqliteDatabase {
  try {
    return openSqliteFile({
      path,
      synchronous: 'full',
      schema: {
        applicationId: REVOCATIONS_APPLICATION_ID,
        name: 'a qood revocation file',
        program: 'agent',
        migrations: REVOCATION_MIGRATIONS,
      },
    }).db;
  } catch (err) {
    if (!(err instanceof SqliteFileError)) throw err;
    const reason =
      err.code === 'NOT_A_DATABASE' || err.code === 'CORRUPT'
        ? `${err.reason}; the grants it revoked would be honoured again without it: restore it from a backup, or move it aside to start without it (revocations on the chain are learnt again from finality updates)`
        : err.reason;
    throw new StoreError(err.code, err.path, reason, err.detail);
  }
}
