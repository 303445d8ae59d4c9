/**
 * The better-sqlite3 adapter of `chain/`: the only file there that imports the package. Opens a
 * database file in WAL mode with `synchronous = FULL` (a commit that returned survives a power cut:
 * the node acknowledges chunks on it), checks it with `PRAGMA quick_check`, and marks it with an
 * application id so a file of something else is refused, not altered. Other files in chain/ use
 * the `NodeDatabase` type only.
 */
import Database from 'better-sqlite3';

/** An open database (better-sqlite3's handle; import it with `import type`). */
export type NodeDatabase = Database.Database;

export type NodeDbErrorCode = 'NOT_A_DATABASE' | 'CORRUPT' | 'OPEN_FAILED' | 'SCHEMA_TOO_NEW';

/** Why a node database could not be opened, with its path. */
export class NodeDbError extends Error {
  constructor(
    readonly code: NodeDbErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'NodeDbError';
  }
}

export interface NodeDbOptions {
  readonly path: string;
  /** 32-bit id written into new files and required of existing ones. */
  readonly applicationId: number;
  /** Schema migrations in order; index i brings version i to i + 1. */
  readonly migrations: readonly ((db: NodeDatabase) => void)[];
}

/** Opens or creates the file and brings its schema up to date. */
export function openNodeDatabase(options: NodeDbOptions): NodeDatabase {
  const { path } = options;
  let db: NodeDatabase;
  try {
    db = new Database(path, { timeout: 5000 });
  } catch (err) {
    throw new NodeDbError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const check = (db.pragma('quick_check', { simple: false }) as { quick_check: string }[]).map(
      (r) => r.quick_check,
    );
    if (check.length !== 1 || check[0] !== 'ok')
      throw new NodeDbError(
        'CORRUPT',
        path,
        `the database is damaged (quick_check: ${check.slice(0, 3).join('; ')})`,
      );
    const version = db.pragma('user_version', { simple: true }) as number;
    const appId = db.pragma('application_id', { simple: true }) as number;
    const tables = db
      .prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")
      .pluck()
      .get() as number;
    if (appId !== options.applicationId && (version !== 0 || tables > 0))
      throw new NodeDbError(
        'NOT_A_DATABASE',
        path,
        `the file belongs to another application (application_id ${appId}); expected ${options.applicationId}`,
      );
    if (version > options.migrations.length)
      throw new NodeDbError(
        'SCHEMA_TOO_NEW',
        path,
        `schema version ${version}; this node knows up to ${options.migrations.length} (upgrade the node)`,
      );
    for (let v = version; v < options.migrations.length; v++)
      db.transaction(() => {
        options.migrations[v]!(db);
        db.pragma(`user_version = ${v + 1}`);
        db.pragma(`application_id = ${options.applicationId}`);
      })();
    return db;
  } catch (err) {
    db.close();
    if (err instanceof NodeDbError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB')
      throw new NodeDbError('NOT_A_DATABASE', path, 'the file is not an SQLite database');
    if (code.startsWith('SQLITE_CORRUPT'))
      throw new NodeDbError('CORRUPT', path, `the database is damaged: ${(err as Error).message}`);
    throw new NodeDbError('OPEN_FAILED', path, `cannot open the database: ${(err as Error).message}`);
  }
}

/** Wraps a Uint8Array as a Buffer without copying (better-sqlite3 binds Buffers as BLOBs). */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
