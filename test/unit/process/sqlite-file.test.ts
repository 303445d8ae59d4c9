/** The SQLite file adapter on real files: open, check, refuse, migrate, and name what went wrong. */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  asBlob,
  openSqliteFile,
  SqliteFileError,
  type SqliteFileOptions,
  type SqliteMigration,
} from '../../../process/index.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-sqlite-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `f${n++}.db`);

const APP_ID = 0x51746573;
const V1: SqliteMigration = (db) =>
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
const V2: SqliteMigration = (db) => db.exec('ALTER TABLE items ADD COLUMN note TEXT');
const schema = (migrations: readonly SqliteMigration[]) => ({
  applicationId: APP_ID,
  name: 'a test file',
  program: 'tester',
  migrations,
});
const options = (path: string, extra: Partial<SqliteFileOptions> = {}): SqliteFileOptions => ({
  path,
  synchronous: 'full',
  schema: schema([V1, V2]),
  ...extra,
});

function failure(fn: () => unknown): SqliteFileError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SqliteFileError) return err;
    throw err;
  }
  throw new Error('expected a SqliteFileError');
}

describe('openSqliteFile', () => {
  it('creates a WAL file with the durability asked for, marks it and runs every migration', () => {
    const path = fresh();
    const a = openSqliteFile(options(path));
    expect(a.migration).toEqual({ from: 0, to: 2 });
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(a.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(a.db.pragma('application_id', { simple: true })).toBe(APP_ID);
    a.db.prepare('INSERT INTO items (body, note) VALUES (?, ?)').run(asBlob(Uint8Array.of(1, 2)), 'x');
    a.db.close();
    const b = openSqliteFile(options(path, { synchronous: 'normal' }));
    expect(b.migration).toEqual({ from: 2, to: 2 });
    expect(b.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(b.db.prepare('SELECT body FROM items').pluck().get()).toEqual(Buffer.from([1, 2]));
    b.db.close();
  });

  it('upgrades a file of an older schema, one version at a time', () => {
    const path = fresh();
    openSqliteFile({ ...options(path), schema: schema([V1]) }).db.close();
    const up = openSqliteFile(options(path));
    expect(up.migration).toEqual({ from: 1, to: 2 });
    up.db.close();
  });

  it('leaves the previous version intact when a migration fails', () => {
    const path = fresh();
    openSqliteFile({ ...options(path), schema: schema([V1]) }).db.close();
    const broken: SqliteMigration = (db) => {
      db.exec('CREATE TABLE half (x)');
      throw new Error('disk full, say');
    };
    const err = failure(() => openSqliteFile({ ...options(path), schema: schema([V1, broken]) }));
    expect(err.code).toBe('OPEN_FAILED');
    expect(err.message).toMatch(/disk full, say/);
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck().get()).toBe(0);
    check.close();
  });

  it('refuses a file that is not SQLite, naming the path', () => {
    const path = fresh();
    writeFileSync(path, 'timestamp,speed\n'.repeat(500));
    const err = failure(() => openSqliteFile(options(path)));
    expect(err.code).toBe('NOT_A_DATABASE');
    expect(err.path).toBe(path);
    expect(err.message).toBe(`${path}: the file is not an SQLite database (its header is wrong)`);
  });

  it('refuses an SQLite file of another application without adding to it', () => {
    const path = fresh();
    const other = new Database(path);
    other.exec('CREATE TABLE contacts (name TEXT)');
    other.close();
    const err = failure(() => openSqliteFile(options(path)));
    expect(err.code).toBe('NOT_A_DATABASE');
    expect(err.reason).toMatch(/another application \(application_id 0, 1 tables\); expected a test file/);
    const check = new Database(path);
    expect(check.pragma('application_id', { simple: true })).toBe(0);
    expect(check.prepare("SELECT name FROM sqlite_schema WHERE type='table'").pluck().all()).toEqual([
      'contacts',
    ]);
    check.close();
  });

  it('refuses a file written by a newer program', () => {
    const path = fresh();
    openSqliteFile(options(path)).db.close();
    const db = new Database(path);
    db.pragma('user_version = 7');
    db.close();
    const err = failure(() => openSqliteFile(options(path)));
    expect(err.code).toBe('SCHEMA_TOO_NEW');
    expect(err.reason).toBe('the file has schema version 7; this tester knows up to 2 (upgrade the tester)');
  });

  it('detects damage with quick_check and keeps every finding in detail', () => {
    const path = fresh();
    const { db } = openSqliteFile(options(path));
    const insert = db.prepare('INSERT INTO items (body) VALUES (?)');
    for (let i = 0; i < 400; i++) insert.run(Buffer.alloc(2000, i));
    db.close();
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    for (let off = 4096 * 3; off < size - 4096; off += 4096 * 7)
      writeSync(fd, Buffer.alloc(600, 0xa5), 0, 600, off);
    closeSync(fd);
    const err = failure(() => openSqliteFile(options(path)));
    expect(err.code).toBe('CORRUPT');
    expect(err.reason).toMatch(/^the database is damaged/);
    if (err.reason.includes('quick_check')) expect(err.detail?.length).toBeGreaterThan(0);
  });

  it('reports a folder that does not exist as OPEN_FAILED with the path', () => {
    const path = join(dir, 'no', 'such', 'dir', 'x.db');
    const err = failure(() => openSqliteFile(options(path)));
    expect(err.code).toBe('OPEN_FAILED');
    expect(err.path).toBe(path);
  });
});

describe('asBlob', () => {
  it('wraps a view of a larger buffer without copying', () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const blob = asBlob(backing.subarray(1, 4));
    expect([...blob]).toEqual([1, 2, 3]);
    backing[2] = 7;
    expect(blob[1]).toBe(7);
  });
});
