/**
 * `SqliteChunkStore`: the agent's durable `ChunkStore` in one SQLite file (WAL). Every method is
 * one transaction, and the counters change in the same transaction as what they count, so after
 * kill -9 or a power cut the file holds exactly the commits that returned (with `synchronous:
 * 'full'`), and counters that match them. One process writes the file; the usage figure is
 * recomputed at open and kept in memory afterwards.
 */
import {
  asBlob,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteSynchronous,
} from '../../process/index.js';
import { type EvictionCandidate, planEviction } from './eviction.js';
import { DEVICE_TX_NONCE_CURSOR, type TxBuilder } from './permission-store.js';
import { openStoreDatabase } from './schema.js';
import {
  type ChunkStore,
  checkRecord,
  type DescriptorRecord,
  type OutboxEntry,
  type PutResult,
  type QueuedTx,
  type SealedChunkRecord,
  STORE_COUNTERS,
  type StoreCounter,
  StoreError,
  type StoreUsage,
  zeroCounters,
} from './types.js';

export interface SqliteChunkStoreOptions {
  /** Database file; created with its schema when absent. */
  readonly path: string;
  /** Most chunk bytes kept (default: unlimited). */
  readonly quotaBytes?: number;
  /** Commit durability (default `full`: see process/sqlite-file.ts). */
  readonly synchronous?: SqliteSynchronous;
}

interface ChunkRow {
  id: string;
  vehicle_id: string;
  stream: string;
  seq: number;
  data_class: SealedChunkRecord['dataClass'];
  priority: number;
  t_start_ms: number;
  t_end_ms: number;
  sample_count: number;
  bytes: Buffer;
}

const COLUMNS =
  'id, vehicle_id, stream, seq, data_class, priority, t_start_ms, t_end_ms, sample_count, bytes';

function toRecord(r: ChunkRow): SealedChunkRecord {
  return {
    id: r.id,
    vehicleId: r.vehicle_id,
    stream: r.stream,
    seq: r.seq,
    dataClass: r.data_class,
    priority: r.priority,
    tStartMs: r.t_start_ms,
    tEndMs: r.t_end_ms,
    sampleCount: r.sample_count,
    bytes: r.bytes,
  };
}

/** Opens (or creates) the store file; throws StoreError as `openStoreDatabase` does. */
export function openSqliteChunkStore(options: SqliteChunkStoreOptions): SqliteChunkStore {
  return new SqliteChunkStore(options);
}

export class SqliteChunkStore implements ChunkStore {
  /** Schema migration done at open: `from` < `to` when the file was created or upgraded. */
  readonly migration: { readonly from: number; readonly to: number };
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #quotaBytes: number;
  readonly #s: Record<string, SqliteStatement>;
  #bytes: number;
  #chunks: number;
  #closed = false;

  constructor(options: SqliteChunkStoreOptions) {
    this.path = options.path;
    this.#quotaBytes = options.quotaBytes ?? Number.MAX_SAFE_INTEGER;
    const file = openStoreDatabase({ path: options.path, synchronous: options.synchronous ?? 'full' });
    this.#db = file.db;
    this.migration = file.migration;
    const db = this.#db;
    this.#s = {
      exists: db.prepare('SELECT 1 FROM chunks WHERE id = ?').pluck(),
      insert: db.prepare(
        `INSERT INTO chunks (${COLUMNS}, size) VALUES (@id, @vehicle_id, @stream, @seq, @data_class, @priority, @t_start_ms, @t_end_ms, @sample_count, @bytes, @size)`,
      ),
      get: db.prepare(`SELECT ${COLUMNS} FROM chunks WHERE id = ?`),
      unsyncedFirst: db.prepare(`SELECT ${COLUMNS} FROM chunks ORDER BY stream, seq LIMIT ?`),
      unsyncedAfter: db.prepare(
        `SELECT ${COLUMNS} FROM chunks WHERE (stream, seq) > (?, ?) ORDER BY stream, seq LIMIT ?`,
      ),
      candidates: db.prepare(
        'SELECT id, priority, ord AS "order", size FROM chunks WHERE priority >= ? ORDER BY priority DESC, ord',
      ),
      deleteId: db.prepare('DELETE FROM chunks WHERE id = ? RETURNING size'),
      count: db.prepare(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
      ),
      counters: db.prepare('SELECT name, value FROM counters'),
      usage: db.prepare('SELECT count(*) AS chunks, coalesce(sum(size), 0) AS bytes FROM chunks'),
      cursor: db.prepare('SELECT value FROM cursors WHERE name = ?').pluck(),
      setCursor: db.prepare(
        'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
      putDescriptor: db.prepare(
        'INSERT INTO descriptors (id, bytes, created_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      descriptors: db.prepare('SELECT id, bytes, created_ms FROM descriptors ORDER BY ord LIMIT ?'),
      deleteDescriptor: db.prepare('DELETE FROM descriptors WHERE id = ?'),
      enqueueTx: db.prepare('INSERT INTO outbox (kind, bytes, created_ms) VALUES (?, ?, ?)'),
      txs: db.prepare('SELECT seq, kind, bytes, created_ms FROM outbox ORDER BY seq LIMIT ?'),
      deleteTx: db.prepare('DELETE FROM outbox WHERE seq = ?'),
    };
    const u = this.#s.usage!.get() as { chunks: number; bytes: number };
    this.#chunks = u.chunks;
    this.#bytes = u.bytes;
  }

  put(record: SealedChunkRecord): PutResult {
    this.#open();
    checkRecord(record, this.path);
    let evictedBytes = 0;
    const result = this.#db
      .transaction((): PutResult => {
        const s = this.#s;
        if (s.exists!.get(record.id) !== undefined) {
          s.count!.run('chunks.duplicate', 1);
          return { stored: false, reason: 'duplicate' };
        }
        const size = record.bytes.length;
        const need = this.#bytes + size - this.#quotaBytes;
        let evicted: EvictionCandidate[] = [];
        if (need > 0) {
          const plan =
            size > this.#quotaBytes
              ? undefined
              : planEviction(
                  s.candidates!.iterate(record.priority) as Iterable<EvictionCandidate>,
                  record.priority,
                  need,
                );
          if (plan === undefined) {
            s.count!.run('chunks.dropped', 1);
            return { stored: false, reason: 'quota' };
          }
          evicted = plan;
          evictedBytes = 0;
          for (const e of evicted) {
            s.deleteId!.run(e.id);
            evictedBytes += e.size;
          }
          s.count!.run('chunks.evicted', evicted.length);
          s.count!.run('bytes.evicted', evictedBytes);
        }
        s.insert!.run({
          id: record.id,
          vehicle_id: record.vehicleId,
          stream: record.stream,
          seq: record.seq,
          data_class: record.dataClass,
          priority: record.priority,
          t_start_ms: record.tStartMs,
          t_end_ms: record.tEndMs,
          sample_count: record.sampleCount,
          bytes: asBlob(record.bytes),
          size,
        });
        s.count!.run('chunks.stored', 1);
        s.count!.run('bytes.stored', size);
        return { stored: true, evicted: evicted.map((e) => e.id) };
      })
      .immediate();
    // In-memory usage changes only once the commit has returned.
    if (result.stored) {
      const gone = new Set(result.evicted);
      this.#chunks += 1 - gone.size;
      this.#bytes += record.bytes.length - evictedBytes;
    }
    return result;
  }

  get(id: string): SealedChunkRecord | undefined {
    this.#open();
    const row = this.#s.get!.get(id) as ChunkRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  unsynced(limit: number, after?: { readonly stream: string; readonly seq: number }): SealedChunkRecord[] {
    this.#open();
    const rows = (
      after === undefined
        ? this.#s.unsyncedFirst!.all(limit)
        : this.#s.unsyncedAfter!.all(after.stream, after.seq, limit)
    ) as ChunkRow[];
    return rows.map(toRecord);
  }

  markAcked(ids: readonly string[]): { chunks: number; bytes: number } {
    this.#open();
    if (ids.length === 0) return { chunks: 0, bytes: 0 };
    const { n, bytes } = this.#db
      .transaction(() => {
        let n = 0;
        let bytes = 0;
        for (const id of ids) {
          const row = this.#s.deleteId!.get(id) as { size: number } | undefined;
          if (row === undefined) continue;
          n++;
          bytes += row.size;
        }
        if (n > 0) this.#s.count!.run('chunks.acked', n);
        return { n, bytes };
      })
      .immediate();
    this.#chunks -= n;
    this.#bytes -= bytes;
    return { chunks: n, bytes };
  }

  usage(): StoreUsage {
    this.#open();
    return { chunks: this.#chunks, bytes: this.#bytes, quotaBytes: this.#quotaBytes };
  }

  counters(): Readonly<Record<StoreCounter, number>> {
    this.#open();
    const out = zeroCounters();
    for (const row of this.#s.counters!.all() as { name: string; value: number }[])
      if ((STORE_COUNTERS as readonly string[]).includes(row.name)) out[row.name as StoreCounter] = row.value;
    return out;
  }

  cursor(name: string): string | undefined {
    this.#open();
    return this.#s.cursor!.get(name) as string | undefined;
  }

  setCursor(name: string, value: string): void {
    this.#open();
    this.#s.setCursor!.run(name, value);
  }

  putDescriptor(id: string, bytes: Uint8Array, createdMs: number, queue?: QueuedTx): void {
    this.#open();
    this.#db.transaction(() => {
      this.#s.putDescriptor!.run(id, asBlob(bytes), createdMs);
      if (typeof queue === 'function') this.#enqueueDevice(queue, createdMs);
      else if (queue !== undefined) this.#s.enqueueTx!.run(queue.kind, asBlob(queue.bytes), createdMs);
    })();
  }

  enqueueDeviceTx(build: TxBuilder, createdMs: number): number {
    this.#open();
    return this.#db.transaction(() => this.#enqueueDevice(build, createdMs))();
  }

  #enqueueDevice(build: TxBuilder, createdMs: number): number {
    const nonce = Number((this.#s.cursor!.get(DEVICE_TX_NONCE_CURSOR) as string | undefined) ?? '0');
    const t = build(nonce);
    const seq = Number(this.#s.enqueueTx!.run(t.kind, asBlob(t.bytes), createdMs).lastInsertRowid);
    this.#s.setCursor!.run(DEVICE_TX_NONCE_CURSOR, String(nonce + 1));
    return seq;
  }

  pendingDescriptors(limit: number): DescriptorRecord[] {
    this.#open();
    return (this.#s.descriptors!.all(limit) as { id: string; bytes: Buffer; created_ms: number }[]).map(
      (r) => ({
        id: r.id,
        bytes: r.bytes,
        createdMs: r.created_ms,
      }),
    );
  }

  markDescriptorsAcked(ids: readonly string[]): number {
    this.#open();
    return this.#db.transaction(() => {
      let n = 0;
      for (const id of ids) n += this.#s.deleteDescriptor!.run(id).changes;
      return n;
    })();
  }

  enqueueTx(kind: string, bytes: Uint8Array, createdMs: number): number {
    this.#open();
    return Number(this.#s.enqueueTx!.run(kind, asBlob(bytes), createdMs).lastInsertRowid);
  }

  pendingTxs(limit: number): OutboxEntry[] {
    this.#open();
    return (
      this.#s.txs!.all(limit) as { seq: number; kind: string; bytes: Buffer; created_ms: number }[]
    ).map((r) => ({ seq: r.seq, kind: r.kind, bytes: r.bytes, createdMs: r.created_ms }));
  }

  removeTxs(seqs: readonly number[]): number {
    this.#open();
    return this.#db.transaction(() => {
      let n = 0;
      for (const seq of seqs) n += this.#s.deleteTx!.run(seq).changes;
      return n;
    })();
  }

  /** Closes the database (checkpointing the WAL). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', this.path, 'the store is closed');
  }
}
