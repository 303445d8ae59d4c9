/**
 * The better-sqlite3 adapter: the one file of the repository (tests apart) that value-imports the
 * package. It opens a database file in WAL mode with the durability asked for, checks it
 * (`PRAGMA quick_check`), refuses a file marked with another application id instead of altering
 * it, brings the schema up to date with the caller's migrations, and turns SQLite's failures into
 * `SqliteFileError`s that say what is wrong with which file. The agent's and the node's stores map
 * that error to their own layer's `StoreError`; other files use the `SqliteDatabase` and
 * `SqliteStatement` types only.
 *
 * Durability (https://www.sqlite.org/pragma.html#pragma_synchronous): in WAL mode `normal` survives
 * a process crash (kill -9) but a power cut may roll back the last commits, because the WAL is
 * fsynced only at checkpoints; `full` fsyncs the WAL at every commit, so a commit that returned
 * survives a power cut too. Whoever acknowledges data on a commit (the agent deleting a synced
 * chunk, the node acknowledging a stored one) needs `full`; test/bench/store.bench.ts measures what
 * that costs.
 *
 * The schema version is `PRAGMA user_version` and the owner is `PRAGMA application_id`. Each
 * migration runs in its own transaction with the version bump, so a crash mid-migration leaves the
 * previous version intact.
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

/** An open database (better-sqlite3's handle; import it with `import type`). */
export type SqliteDatabase = Database.Database;

/** A prepared statement of a `SqliteDatabase`. */
export type SqliteStatement = Database.Statement;

/** `full`: every commit is fsynced (power-loss safe). `normal`: crash safe, faster. */
export type SqliteSynchronous = 'full' | 'normal';

/** One schema step: index i of a migration list brings the schema from version i to i + 1. */
export type SqliteMigration = (db: SqliteDatabase) => void;

export type SqliteFileErrorCode =
  /** Not an SQLite file (wrong header), or an SQLite file of another application. */
  | 'NOT_A_DATABASE'
  /** quick_check found damage, or SQLite reported corruption while opening. */
  | 'CORRUPT'
  /** Written by a newer program with more migrations than the caller knows. */
  | 'SCHEMA_TOO_NEW'
  /** Anything else: permissions, a missing folder, a lock held too long. */
  | 'OPEN_FAILED';

/** Why a database file could not be opened, with its path and what SQLite said. */
export class SqliteFileError extends Error {
  constructor(
    readonly code: SqliteFileErrorCode,
    readonly path: string,
    /** What is wrong, without the path (the message is `<path>: <reason>`). */
    readonly reason: string,
    /** Longer findings (every quick_check line) where there are some. */
    readonly detail?: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SqliteFileError';
  }
}

/** What a database file must be and how to bring it up to date. */
export interface SqliteSchema {
  /** 32-bit id written into new files and required of existing ones that have tables. */
  readonly applicationId: number;
  /** What the file should be, for the refusal of a foreign file: "a qood agent store". */
  readonly name: string;
  /** Who to upgrade when the file is newer than `migrations`: "agent", "node". */
  readonly program: string;
  /** Migrations in order; never edit a shipped one. */
  readonly migrations: readonly SqliteMigration[];
}

/** Options of {@link openSqliteFile}. */
export interface SqliteFileOptions {
  /** The database file; created when absent (its folder must exist). */
  readonly path: string;
  readonly synchronous: SqliteSynchronous;
  readonly schema: SqliteSchema;
  /** How long a statement waits for another connection's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * Skip `PRAGMA quick_check` (it reads every page: a few ms per MB), for a second connection to a
   * file another one has just checked. Default false.
   */
  readonly skipQuickCheck?: boolean;
}

/** An opened, migrated database file. */
export interface SqliteFile {
  readonly db: SqliteDatabase;
  /** Schema migration done at open: `from` < `to` when the file was created or upgraded. */
  readonly migration: { readonly from: number; readonly to: number };
}

/** SQLite's extended result code of a failure ('' when there is none). */
function sqliteCodeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : '';
}

let betterSqlite3: typeof Database | undefined;

/**
 * Loads better-sqlite3 on first use rather than at import, so the commands that open no database
 * (`qood --help`, `config check`, the buyer's API) start where the package or its addon is missing.
 */
function loadBetterSqlite3(path: string): typeof Database {
  if (betterSqlite3 !== undefined) return betterSqlite3;
  try {
    betterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  } catch (err) {
    throw new SqliteFileError(
      'OPEN_FAILED',
      path,
      `the better-sqlite3 package did not load (${(err as Error).message.split('\n')[0]}); it is a dependency of qoodblock: reinstall it with its install script allowed`,
    );
  }
  return betterSqlite3;
}

/**
 * Opens (creating if absent) a database file and migrates it. Throws SqliteFileError: `NOT_A_DATABASE`
 * when the file is not SQLite or belongs to another application (the file is left untouched),
 * `CORRUPT` when it is damaged (with quick_check's findings in `detail`), `SCHEMA_TOO_NEW` when a
 * newer program wrote it, `OPEN_FAILED` for anything else. On a throw the connection is closed.
 */
export function openSqliteFile(options: SqliteFileOptions): SqliteFile {
  const { path, schema } = options;
  const Sqlite = loadBetterSqlite3(path);
  let db: SqliteDatabase;
  try {
    db = new Sqlite(path, { timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw new SqliteFileError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
  try {
    // The first statement reads the header: a file that is not SQLite fails here.
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    if (options.skipQuickCheck !== true) {
      const rows = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
      const findings = rows.map((r) => r.quick_check);
      if (findings.length !== 1 || findings[0] !== 'ok')
        throw new SqliteFileError(
          'CORRUPT',
          path,
          `the database is damaged (PRAGMA quick_check: ${findings.slice(0, 3).join('; ')})`,
          findings.join('\n'),
        );
    }
    return { db, migration: migrate(db, path, schema) };
  } catch (err) {
    db.close();
    if (err instanceof SqliteFileError) throw err;
    const code = sqliteCodeOf(err);
    if (code === 'SQLITE_NOTADB')
      throw new SqliteFileError(
        'NOT_A_DATABASE',
        path,
        'the file is not an SQLite database (its header is wrong)',
      );
    if (code.startsWith('SQLITE_CORRUPT'))
      throw new SqliteFileError('CORRUPT', path, `the database is damaged: ${(err as Error).message}`);
    throw new SqliteFileError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
}

/** Refuses a foreign or too new file, then runs the migrations the file lacks. */
function migrate(
  db: SqliteDatabase,
  path: string,
  schema: SqliteSchema,
): { readonly from: number; readonly to: number } {
  const latest = schema.migrations.length;
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== schema.applicationId) {
    // A new file (version 0, no tables) is ours to mark; anything else with another id is not.
    const tables = db
      .prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")
      .pluck()
      .get() as number;
    if (version !== 0 || tables > 0)
      throw new SqliteFileError(
        'NOT_A_DATABASE',
        path,
        `the file is an SQLite database of another application (application_id ${appId}, ${tables} tables); expected ${schema.name}`,
      );
  }
  if (version > latest)
    throw new SqliteFileError(
      'SCHEMA_TOO_NEW',
      path,
      `the file has schema version ${version}; this ${schema.program} knows up to ${latest} (upgrade the ${schema.program})`,
    );
  for (let v = version; v < latest; v++)
    db.transaction(() => {
      schema.migrations[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
      db.pragma(`application_id = ${schema.applicationId}`);
    })();
  return { from: version, to: latest };
}

/** Wraps a Uint8Array as a Buffer without copying (better-sqlite3 binds Buffers as BLOBs). */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
