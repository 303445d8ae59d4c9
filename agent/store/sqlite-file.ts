/**
 * The better-sqlite3 adapter of `agent/`: the only file that imports the package. Opens a database
 * file in WAL mode with the durability asked for, checks it (`PRAGMA quick_check`) and turns
 * SQLite's failures into `StoreError`s that say what is wrong with which file. Other files use
 * the `SqliteDatabase` type only.
 *
 * Durability (https://www.sqlite.org/pragma.html#pragma_synchronous): in WAL mode `normal` survives
 * a process crash (kill -9) but a power cut may roll back the last commits, because the WAL is
 * fsynced only at checkpoints; `full` fsyncs the WAL at every commit, so a commit that returned
 * survives a power cut too. The agent acknowledges data (and deletes it) on commits, so it uses
 * `full`; test/bench/store.bench.ts measures what that costs.
 */
import Database from 'better-sqlite3';
import { StoreError } from './types.js';

/** An open database (better-sqlite3's handle; import it with `import type`). */
export type SqliteDatabase = Database.Database;

/** `full`: every commit is fsynced (power-loss safe). `normal`: crash safe, faster. */
export type SqliteSynchronous = 'full' | 'normal';

export interface SqliteOpenOptions {
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  /** How long a statement waits for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Skip `PRAGMA quick_check` (it reads every page: a few ms per MB). Default false. */
  readonly skipQuickCheck?: boolean;
}

/** SQLite's result codes that mean the file itself is the problem. */
function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : '';
}

/**
 * Opens (creating if absent) a database file. Throws StoreError `NOT_A_DATABASE` when the file
 * is not SQLite, `CORRUPT` when it is damaged (with quick_check's first findings in `detail`),
 * `OPEN_FAILED` for anything else (permissions, a missing folder).
 */
export function openSqliteFile(options: SqliteOpenOptions): SqliteDatabase {
  const { path } = options;
  let db: SqliteDatabase;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new StoreError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
  try {
    // The first statement reads the header: a file that is not SQLite fails here.
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    if (options.skipQuickCheck !== true) {
      const rows = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
      const findings = rows.map((r) => r.quick_check);
      if (findings.length !== 1 || findings[0] !== 'ok')
        throw new StoreError(
          'CORRUPT',
          path,
          `the database is damaged (PRAGMA quick_check: ${findings.slice(0, 3).join('; ')})`,
          findings.join('\n'),
        );
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    const code = codeOf(err);
    if (code === 'SQLITE_NOTADB')
      throw new StoreError(
        'NOT_A_DATABASE',
        path,
        'the file is not an SQLite database (its header is wrong); move it aside or point storage.path elsewhere',
      );
    if (code.startsWith('SQLITE_CORRUPT'))
      throw new StoreError('CORRUPT', path, `the database is damaged: ${(err as Error).message}`);
    throw new StoreError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
}

/** Wraps a Uint8Array as a Buffer without copying (better-sqlite3 binds Buffers as BLOBs). */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
