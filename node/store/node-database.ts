/**
 * How the node opens its database files (the chain store and the ingest database): through the
 * process adapter (process/sqlite-file.ts) with `synchronous = full`, because the node acknowledges
 * chunks and votes on what it has committed, and a quick_check at open. Each file carries its own
 * application id, so a file of something else is refused, not altered. The adapter's
 * SqliteFileError becomes the node's one store error class, chain's `StoreError`, with the same code,
 * the path in the message and the adapter's error as `cause`.
 */
import { StoreError } from '../../chain/index.js';
import {
  openSqliteFile,
  type SqliteDatabase,
  SqliteFileError,
  type SqliteMigration,
} from '../../process/index.js';

/** What a node database file is. */
export interface NodeDatabaseOptions {
  readonly path: string;
  /** 32-bit id written into new files and required of existing ones. */
  readonly applicationId: number;
  /** What the file should be, for the refusal of a foreign file: "a qood chain store". */
  readonly name: string;
  /** Schema migrations in order; index i brings version i to i + 1. */
  readonly migrations: readonly SqliteMigration[];
}

/** Opens or creates the file and brings its schema up to date; throws StoreError when it is not usable. */
export function openNodeDatabase(options: NodeDatabaseOptions): SqliteDatabase {
  try {
    return openSqliteFile({
      path: options.path,
      synchronous: 'full',
      schema: {
        applicationId: options.applicationId,
        name: options.name,
        program: 'node',
        migrations: options.migrations,
      },
    }).db;
  } catch (err) {
    if (err instanceof SqliteFileError) throw new StoreError(err.code, null, err.message, { cause: err });
    throw err;
  }
}
