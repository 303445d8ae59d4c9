/** What only the SQLite store does: survive a reopen, refuse and move aside files it cannot use, migrate. */
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  openChunkStoreOrMoveAside,
  openSqliteChunkStore,
  SCHEMA_VERSION,
  StoreError,
} from '../../../../agent/store/index.js';
import type { Logger } from '../../../../process/log.js';
import { makeRecord } from '../../../support/chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `f${n++}.db`);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StoreError ? err.code : `not a StoreError: ${String(err)}`;
  }
  return undefined;
}

describe('SqliteChunkStore file handling', () => {
  it('creates the schema, then keeps chunks, cursors, counters and usage across a reopen', () => {
    const path = fresh();
    const a = openSqliteChunkStore({ path, quotaBytes: 10_000 });
    expect(a.migration).toEqual({ from: 0, to: SCHEMA_VERSION });
    for (let q = 0; q < 5; q++) a.put(makeRecord('s', q, { size: 200 }));
    a.markAcked([makeRecord('s', 0).id]);
    a.setCursor('anchor', '7');
    a.close();
    const b = openSqliteChunkStore({ path, quotaBytes: 10_000 });
    expect(b.migration).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    expect(b.unsynced(10).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(b.usage()).toEqual({ chunks: 4, bytes: 800, quotaBytes: 10_000 });
    expect(b.counters()).toMatchObject({ 'chunks.stored': 5, 'bytes.stored': 1000, 'chunks.acked': 1 });
    expect(b.cursor('anchor')).toBe('7');
    b.close();
  });

  it('refuses a file that is not a database, saying so', () => {
    const path = fresh();
    writeFileSync(path, 'timestamp,speed\n'.repeat(500));
    expect(codeOf(() => openSqliteChunkStore({ path }))).toBe('NOT_A_DATABASE');
    expect(() => openSqliteChunkStore({ path })).toThrow(/not an SQLite database/);
  });

  it('refuses an SQLite file of another application without touching it', () => {
    const path = fresh();
    const other = new Database(path);
    other.exec('CREATE TABLE contacts (name TEXT)');
    other.close();
    expect(() => openSqliteChunkStore({ path })).toThrow(/another application.*1 tables/);
    const check = new Database(path);
    expect(check.prepare("SELECT name FROM sqlite_schema WHERE type='table'").pluck().all()).toEqual([
      'contacts',
    ]);
    check.close();
  });

  it('refuses a store written by a newer schema', () => {
    const path = fresh();
    openSqliteChunkStore({ path }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(codeOf(() => openSqliteChunkStore({ path }))).toBe('SCHEMA_TOO_NEW');
  });

  it('detects a damaged file at open (quick_check) and names what it found', () => {
    const path = fresh();
    const s = openSqliteChunkStore({ path });
    for (let q = 0; q < 200; q++) s.put(makeRecord('s', q, { size: 2000 }));
    s.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    // Overwrite pages in the middle of the file (not the header) with garbage.
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    for (let off = 4096 * 3; off < size - 4096; off += 4096 * 7)
      writeSync(fd, Buffer.alloc(600, 0xa5), 0, 600, off);
    closeSync(fd);
    expect(codeOf(() => openSqliteChunkStore({ path }))).toBe('CORRUPT');
  });

  it('moves an unusable file aside with a loud log and starts an empty store', () => {
    const path = fresh();
    writeFileSync(path, Buffer.alloc(8192, 0x42));
    const logged: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger: Logger = {
      error: (fields, msg) => logged.push({ fields, msg }),
      warn() {},
      info() {},
      debug() {},
      child: () => logger,
    };
    const { store, movedTo } = openChunkStoreOrMoveAside({ path, logger, nowMs: () => Date.UTC(2024, 0, 2) });
    expect(movedTo).toBe(`${path}.invalid-2024-01-02T00-00-00-000Z`);
    expect(statSync(movedTo!).size).toBe(8192);
    expect(store.put(makeRecord('a', 0)).stored).toBe(true);
    store.close();
    expect(logged).toHaveLength(1);
    expect(logged[0]!.msg).toMatch(/STORE UNUSABLE/);
    expect(logged[0]!.fields).toMatchObject({ code: 'NOT_A_DATABASE', path });
    expect(readdirSync(dir).filter((f) => f.startsWith(path.split('/').pop()!))).toContain(
      movedTo!.split('/').pop(),
    );
  });

  it('does not move aside a store that is merely too new', () => {
    const path = fresh();
    openSqliteChunkStore({ path }).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    const logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => logger } as Logger;
    expect(() => openChunkStoreOrMoveAside({ path, logger })).toThrow(/schema version 99/);
    expect(existsSync(path)).toBe(true);
  });

  it('reports a folder that does not exist as OPEN_FAILED with the path', () => {
    const path = join(dir, 'no', 'such', 'dir', 'agent.db');
    expect(codeOf(() => openSqliteChunkStore({ path }))).toBe('OPEN_FAILED');
  });
});

describe('quota under a random workload (SQLite file against a reference model)', () => {
  it('keeps exactly what the eviction rule keeps, and the counters match', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ priority: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 1, max: 400 }) }),
          {
            maxLength: 60,
          },
        ),
        (puts) => {
          const quota = 1500;
          const store = openSqliteChunkStore({ path: fresh(), quotaBytes: quota, synchronous: 'normal' });
          // Reference: a list in storage order; evict highest priority number, then oldest.
          let model: { id: string; priority: number; size: number }[] = [];
          let evicted = 0;
          let dropped = 0;
          try {
            puts.forEach((p, i) => {
              const r = makeRecord('s', i, { size: p.size, priority: p.priority });
              const used = model.reduce((a, c) => a + c.size, 0);
              let need = used + p.size - quota;
              const order = [...model].sort(
                (a, b) => b.priority - a.priority || model.indexOf(a) - model.indexOf(b),
              );
              const gone: string[] = [];
              for (const c of order) {
                if (need <= 0 || c.priority < p.priority) break;
                gone.push(c.id);
                need -= c.size;
              }
              if (need > 0) dropped++;
              else {
                evicted += gone.length;
                model = model.filter((c) => !gone.includes(c.id));
                model.push({ id: r.id, priority: p.priority, size: p.size });
              }
              store.put(r);
            });
            expect(
              store
                .unsynced(1000)
                .map((r) => r.id)
                .sort(),
            ).toEqual(model.map((m) => m.id).sort());
            const c = store.counters();
            expect([c['chunks.evicted'], c['chunks.dropped']]).toEqual([evicted, dropped]);
            expect(c['chunks.stored'] - c['chunks.evicted']).toBe(store.usage().chunks);
            expect(store.usage().bytes).toBeLessThanOrEqual(quota);
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
