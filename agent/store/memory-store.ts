/**
 * `MemoryChunkStore`: the `ChunkStore` double for unit tests of the sync and the chunker. It keeps
 * the same rules as the SQLite store (idempotent put, per-stream order, quota and eviction order,
 * durable counters) and passes the same contract suite; it just forgets everything on exit.
 */
import { compareEviction, type EvictionCandidate, planEviction } from './eviction.js';
import { DEVICE_TX_NONCE_CURSOR, type TxBuilder } from './permission-store.js';
import {
  type ChunkStore,
  checkRecord,
  type DescriptorRecord,
  type OutboxEntry,
  type PutResult,
  type QueuedTx,
  type SealedChunkRecord,
  type StoreCounter,
  StoreError,
  type StoreUsage,
  zeroCounters,
} from './types.js';

interface Stored {
  readonly record: SealedChunkRecord;
  readonly order: number;
}

/** Per-stream order: stream, then seq (code-unit order, as SQLite's BINARY collation for ASCII). */
function compareStreamSeq(a: { stream: string; seq: number }, b: { stream: string; seq: number }): number {
  if (a.stream !== b.stream) return a.stream < b.stream ? -1 : 1;
  return a.seq - b.seq;
}

export class MemoryChunkStore implements ChunkStore {
  readonly #chunks = new Map<string, Stored>();
  readonly #counters = zeroCounters();
  readonly #cursors = new Map<string, string>();
  readonly #descriptors = new Map<string, DescriptorRecord>();
  readonly #outbox: OutboxEntry[] = [];
  readonly #quotaBytes: number;
  #bytes = 0;
  #order = 0;
  #txSeq = 0;
  #closed = false;

  /** `quotaBytes`: the most chunk bytes kept (default: unlimited). */
  constructor(options: { quotaBytes?: number } = {}) {
    this.#quotaBytes = options.quotaBytes ?? Number.MAX_SAFE_INTEGER;
  }

  put(record: SealedChunkRecord): PutResult {
    this.#open();
    checkRecord(record);
    if (this.#chunks.has(record.id)) {
      this.#counters['chunks.duplicate']++;
      return { stored: false, reason: 'duplicate' };
    }
    const size = record.bytes.length;
    const need = this.#bytes + size - this.#quotaBytes;
    let evicted: EvictionCandidate[] = [];
    if (need > 0) {
      const candidates = [...this.#chunks.values()]
        .map((s) => ({
          id: s.record.id,
          priority: s.record.priority,
          order: s.order,
          size: s.record.bytes.length,
        }))
        .sort(compareEviction);
      const plan = size > this.#quotaBytes ? undefined : planEviction(candidates, record.priority, need);
      if (plan === undefined) {
        this.#counters['chunks.dropped']++;
        return { stored: false, reason: 'quota' };
      }
      evicted = plan;
    }
    for (const e of evicted) {
      this.#chunks.delete(e.id);
      this.#bytes -= e.size;
      this.#counters['chunks.evicted']++;
      this.#counters['bytes.evicted'] += e.size;
    }
    // Copy the bytes: the caller may reuse its buffer, as with a database.
    this.#chunks.set(record.id, { record: { ...record, bytes: record.bytes.slice() }, order: ++this.#order });
    this.#bytes += size;
    this.#counters['chunks.stored']++;
    this.#counters['bytes.stored'] += size;
    return { stored: true, evicted: evicted.map((e) => e.id) };
  }

  get(id: string): SealedChunkRecord | undefined {
    this.#open();
    return this.#chunks.get(id)?.record;
  }

  unsynced(limit: number, after?: { readonly stream: string; readonly seq: number }): SealedChunkRecord[] {
    this.#open();
    return [...this.#chunks.values()]
      .map((s) => s.record)
      .filter((r) => after === undefined || compareStreamSeq(r, after) > 0)
      .sort(compareStreamSeq)
      .slice(0, limit);
  }

  markAcked(ids: readonly string[]): { chunks: number; bytes: number } {
    this.#open();
    let n = 0;
    let bytes = 0;
    for (const id of ids) {
      const s = this.#chunks.get(id);
      if (s === undefined) continue;
      this.#chunks.delete(id);
      bytes += s.record.bytes.length;
      n++;
    }
    this.#bytes -= bytes;
    this.#counters['chunks.acked'] += n;
    return { chunks: n, bytes };
  }

  usage(): StoreUsage {
    this.#open();
    return { chunks: this.#chunks.size, bytes: this.#bytes, quotaBytes: this.#quotaBytes };
  }

  counters(): Readonly<Record<StoreCounter, number>> {
    return { ...this.#counters };
  }

  cursor(name: string): string | undefined {
    this.#open();
    return this.#cursors.get(name);
  }

  setCursor(name: string, value: string): void {
    this.#open();
    this.#cursors.set(name, value);
  }

  putDescriptor(id: string, bytes: Uint8Array, createdMs: number, queue?: QueuedTx): void {
    this.#open();
    if (!this.#descriptors.has(id)) this.#descriptors.set(id, { id, bytes: bytes.slice(), createdMs });
    if (typeof queue === 'function') this.enqueueDeviceTx(queue, createdMs);
    else if (queue !== undefined) this.enqueueTx(queue.kind, queue.bytes, createdMs);
  }

  pendingDescriptors(limit: number): DescriptorRecord[] {
    this.#open();
    return [...this.#descriptors.values()].slice(0, limit);
  }

  markDescriptorsAcked(ids: readonly string[]): number {
    this.#open();
    let n = 0;
    for (const id of ids) if (this.#descriptors.delete(id)) n++;
    return n;
  }

  enqueueDeviceTx(build: TxBuilder, createdMs: number): number {
    this.#open();
    const nonce = Number(this.#cursors.get(DEVICE_TX_NONCE_CURSOR) ?? '0');
    const t = build(nonce);
    this.#cursors.set(DEVICE_TX_NONCE_CURSOR, String(nonce + 1));
    return this.enqueueTx(t.kind, t.bytes, createdMs);
  }

  enqueueTx(kind: string, bytes: Uint8Array, createdMs: number): number {
    this.#open();
    const seq = ++this.#txSeq;
    this.#outbox.push({ seq, kind, bytes: bytes.slice(), createdMs });
    return seq;
  }

  pendingTxs(limit: number): OutboxEntry[] {
    this.#open();
    return this.#outbox.slice(0, limit);
  }

  removeTxs(seqs: readonly number[]): number {
    this.#open();
    const drop = new Set(seqs);
    const before = this.#outbox.length;
    const keep = this.#outbox.filter((e) => !drop.has(e.seq));
    this.#outbox.splice(0, this.#outbox.length, ...keep);
    return before - keep.length;
  }

  close(): void {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', '', 'the store is closed');
  }
}
