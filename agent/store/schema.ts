/**
 * The store's schema and its migrations, and opening the store file with them. `PRAGMA user_version`
 * holds the schema version and `PRAGMA application_id` marks the file as a qood agent store, so
 * opening some other SQLite file by mistake is refused instead of altered; a file written by a newer
 * agent is refused too (downgrading would lose data). Each migration runs in its own transaction
 * with the version bump, so a crash mid-migration leaves the previous version intact (the process
 * adapter, process/sqlite-file.ts, runs them).
 */
import {
  openSqliteFile,
  type SqliteFile,
  SqliteFileError,
  type SqliteMigration,
  type SqliteSynchronous,
} from '../../process/index.js';
import { AUDIT_GENESIS, type AuditRow, auditHash } from './permission-store.js';
import { STORE_COUNTERS, StoreError } from './types.js';

/** An audit row as SQLite holds it. */
export interface AuditDbRow {
  seq: number;
  at_ms: number;
  kind: AuditRow['kind'];
  grant_id: string | null;
  actor: string;
  command: string;
  args: string;
  nonce: string;
  message_id: string;
  outcome: string;
  reason: string;
  detail: string;
  frames: number;
}

/** An audit row from its table form (the store reads it so; the hash migration hashes it so). */
export const auditRow = (r: AuditDbRow): AuditRow => ({
  seq: r.seq,
  atMs: r.at_ms,
  kind: r.kind,
  grantId: r.grant_id,
  actor: r.actor,
  command: r.command,
  args: r.args,
  nonce: r.nonce,
  messageId: r.message_id,
  outcome: r.outcome,
  reason: r.reason,
  detail: r.detail,
  framesWritten: r.frames,
});

/** 'QooD' as a 32-bit integer: the file's application id. */
export const STORE_APPLICATION_ID = 0x516f6f44;

/** Migrations in order; index i brings the schema from version i to i + 1. Never edit a shipped one. */
export const MIGRATIONS: readonly SqliteMigration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE chunks (
        ord          INTEGER PRIMARY KEY AUTOINCREMENT,  -- storage order (eviction: oldest first)
        id           TEXT    NOT NULL UNIQUE,            -- hex SHA-256 of the header
        vehicle_id   TEXT    NOT NULL,
        stream       TEXT    NOT NULL,
        seq          INTEGER NOT NULL,
        data_class   TEXT    NOT NULL,
        priority     INTEGER NOT NULL,
        t_start_ms   INTEGER NOT NULL,
        t_end_ms     INTEGER NOT NULL,
        sample_count INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        bytes        BLOB    NOT NULL
      );
      CREATE INDEX chunks_by_stream ON chunks (stream, seq);
      CREATE INDEX chunks_by_eviction ON chunks (priority DESC, ord);
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE descriptors (
        ord        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT    NOT NULL UNIQUE,
        bytes      BLOB    NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT    NOT NULL,
        bytes      BLOB    NOT NULL,
        created_ms INTEGER NOT NULL
      );
    `);
    const insert = db.prepare('INSERT INTO counters (name, value) VALUES (?, 0)');
    for (const name of STORE_COUNTERS) insert.run(name);
  },
  // 2: permissions (grants, the append-only audit log, the nonce window).
  (db) => {
    db.exec(`
      CREATE TABLE grants (
        id          TEXT    PRIMARY KEY,   -- grant transaction id, hex
        bundle      BLOB    NOT NULL,      -- signed grant tx + terms, as received
        received_ms INTEGER NOT NULL,
        revoked_ms  INTEGER,
        revoked_by  TEXT,
        chain_paid  TEXT,                  -- QDD base units as decimal text (may exceed 2^53)
        chain_to_ms INTEGER
      ) WITHOUT ROWID;
      CREATE TABLE audit (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms      INTEGER NOT NULL,
        kind       TEXT    NOT NULL,
        grant_id   TEXT,
        actor      TEXT    NOT NULL,
        command    TEXT    NOT NULL,
        args       TEXT    NOT NULL,
        nonce      TEXT    NOT NULL,
        message_id TEXT    NOT NULL,
        outcome    TEXT    NOT NULL,
        reason     TEXT    NOT NULL,
        detail     TEXT    NOT NULL,
        frames     INTEGER NOT NULL
      );
      CREATE INDEX audit_by_grant ON audit (grant_id, seq);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TABLE nonces (
        grant_id  TEXT    NOT NULL,
        nonce     TEXT    NOT NULL,
        issued_ms INTEGER NOT NULL,
        PRIMARY KEY (grant_id, nonce)
      ) WITHOUT ROWID;
      CREATE INDEX nonces_by_time ON nonces (issued_ms);
    `);
  },
  // 3: each grant's high-water mark of issue times (issue 14, attack 6): nonces older than the
  // window below it are refused by the mark, so the window no longer depends on the wall clock.
  (db) => {
    db.exec(`
      CREATE TABLE nonce_marks (
        grant_id       TEXT    PRIMARY KEY,
        high_issued_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO nonce_marks (grant_id, high_issued_ms)
        SELECT grant_id, MAX(issued_ms) FROM nonces GROUP BY grant_id;
    `);
  },
  // 4: the audit log becomes a bounded hash chain (issue 14, attack 10). Each row gets its hash
  // (rows already there are chained in seq order from the genesis anchor); `audit_anchor` holds
  // the hash of the last row a rotation deleted; DELETE is refused unless `audit_rotating` says a
  // rotation is under way (set and cleared inside the rotation's own transaction).
  (db) => {
    db.exec(`
      DROP TRIGGER audit_no_update;
      DROP TRIGGER audit_no_delete;
      ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
      CREATE TABLE audit_anchor (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        after_seq  INTEGER NOT NULL,   -- the last deleted row's seq (0: none)
        hash       TEXT    NOT NULL,   -- its hash: the chain's anchor
        rotated_ms INTEGER NOT NULL,
        deleted    INTEGER NOT NULL    -- rows deleted by rotations, in all
      ) WITHOUT ROWID;
      INSERT INTO audit_anchor VALUES (1, 0, '${AUDIT_GENESIS}', 0, 0);
      CREATE TABLE audit_rotating (id INTEGER PRIMARY KEY CHECK (id = 1), active INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO audit_rotating VALUES (1, 0);
    `);
    const set = db.prepare('UPDATE audit SET hash = ? WHERE seq = ?');
    let prev = AUDIT_GENESIS;
    for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').all() as AuditDbRow[]) {
      const row = auditRow(r);
      prev = auditHash(prev, row);
      set.run(prev, row.seq);
    }
    db.exec(`
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit WHEN (SELECT active FROM audit_rotating) = 0
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only; only its rotation deletes rows'); END;
    `);
  },
];

/** The version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens the agent's database file with this schema through the process adapter (WAL, quick_check
 * unless skipped, application id, migrations), mapping its SqliteFileError to StoreError with the
 * same code, path and detail. The chunk store and the permission store each open a connection.
 */
export function openStoreDatabase(options: {
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  readonly skipQuickCheck?: boolean;
}): SqliteFile {
  try {
    return openSqliteFile({
      path: options.path,
      synchronous: options.synchronous,
      ...(options.skipQuickCheck === undefined ? {} : { skipQuickCheck: options.skipQuickCheck }),
      schema: {
        applicationId: STORE_APPLICATION_ID,
        name: 'a qood agent store',
        program: 'agent',
        migrations: MIGRATIONS,
      },
    });
  } catch (err) {
    if (!(err instanceof SqliteFileError)) throw err;
    // The agent's own fix for a file it cannot use (openChunkStoreOrMoveAside does the first).
    const reason =
      err.code === 'NOT_A_DATABASE'
        ? `${err.reason}; move it aside or point storage.path elsewhere`
        : err.reason;
    throw new StoreError(err.code, err.path, reason, err.detail);
  }
}
