/**
 * The agent's store of sealed chunks, the queue between sealing and sync. `ChunkStore` is the
 * interface the sync and the chunker use; `SqliteChunkStore` is the real one (a WAL database that
 * survives kill -9 and power loss), `MemoryChunkStore` the double for unit tests. One contract suite
 * runs against both (test/unit/store/chunk-store-contract.ts).
 *
 * Lifecycle of a chunk: `put` (after sealing) -> `unsynced` (read by the sync, per-stream order) ->
 * `markAcked` when the storage node has acknowledged it, which deletes it. The device keeps nothing
 * it has handed over: the storage node is the archive, and flash on a small device is for what is
 * not yet safe elsewhere (ARCHITECTURE.md: "delete only on ack").
 *
 * Eviction when the quota is reached (`quotaBytes`, counted on the chunk bytes): acknowledged chunks
 * are already gone, so the order is the priority order: the highest `priority` number first, and
 * among equal priorities the oldest stored first. A chunk is never evicted to make room for a less
 * important one (higher number): such a newcomer is dropped instead, and counted.
 */

import type { TxBuilder } from './permission-store.js';

/** One sealed chunk as the store keeps it and the sync sends it. */
export interface SealedChunkRecord {
  /** Hex SHA-256 of the chunk's header bytes: unique, and the idempotent key everywhere. */
  readonly id: string;
  readonly vehicleId: string;
  /** Stream the chunk belongs to, e.g. `can0/ENGINE_DATA` or a collection scheme name. */
  readonly stream: string;
  /** Per-stream sequence number, 0, 1, 2 ... */
  readonly seq: number;
  /** QoodShares class of the data in the chunk. */
  readonly dataClass: 'owner' | 'oem' | 'disputed';
  /** 0 = most important; eviction takes the highest number first. */
  readonly priority: number;
  /** First and last sample time in the chunk, ms since the Unix epoch. */
  readonly tStartMs: number;
  readonly tEndMs: number;
  readonly sampleCount: number;
  /** The sealed chunk on the wire (header, signature, ciphertext); opaque to the store and the sync. */
  readonly bytes: Uint8Array;
}

/** The data classes a record may carry. */
export const DATA_CLASSES = ['owner', 'oem', 'disputed'] as const;

/** What `put` did with a record. */
export type PutResult =
  | { readonly stored: true; readonly evicted: readonly string[] }
  | { readonly stored: false; readonly reason: 'duplicate' | 'quota' };

/** A descriptor (the data description file of a batch), kept until the sync has delivered it. */
export interface DescriptorRecord {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly createdMs: number;
}

/** A queued chain transaction (descriptor anchor, revoke ...), kept until it has been submitted. */
export interface OutboxEntry {
  /** Position in the queue, assigned by the store, increasing. */
  readonly seq: number;
  /** What the transaction is, e.g. `descriptor`, `revoke`. */
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly createdMs: number;
}

/**
 * Durable counters the store keeps in the same transaction as the change they count, so they stay
 * exact across crashes. Cumulative since the store was created.
 */
export const STORE_COUNTERS = [
  'chunks.stored',
  'bytes.stored',
  'chunks.evicted',
  'bytes.evicted',
  'chunks.dropped',
  'chunks.acked',
  'chunks.duplicate',
] as const;
export type StoreCounter = (typeof STORE_COUNTERS)[number];

/** What is in the store now. */
export interface StoreUsage {
  readonly chunks: number;
  /** Sum of the chunk bytes, the figure the quota applies to. */
  readonly bytes: number;
  readonly quotaBytes: number;
}

/** The store interface the agent's stages use. Every method is synchronous and atomic. */
export interface ChunkStore {
  /**
   * Stores a record unless its id is already there (`duplicate`, nothing changes). Evicts what the
   * quota needs in the documented order, or drops the record (`quota`) when only more important
   * chunks would have to go. Durable when it returns (with `synchronous: 'full'`).
   */
  put(record: SealedChunkRecord): PutResult;
  /** The record with this id, if stored. */
  get(id: string): SealedChunkRecord | undefined;
  /**
   * Unacknowledged records in per-stream order: ordered by stream, then seq; at most `limit`.
   * With `after`, only records past that position (exclusive), so a caller can page through.
   */
  unsynced(limit: number, after?: { readonly stream: string; readonly seq: number }): SealedChunkRecord[];
  /** Deletes the acknowledged records; unknown ids are ignored. Returns what was deleted. */
  markAcked(ids: readonly string[]): { readonly chunks: number; readonly bytes: number };
  usage(): StoreUsage;
  counters(): Readonly<Record<StoreCounter, number>>;

  /** A named sync cursor (last anchored batch, chain height ...), or undefined if never set. */
  cursor(name: string): string | undefined;
  setCursor(name: string, value: string): void;

  /**
   * Stores a descriptor idempotently by id and, in the same transaction, queues `queue`: a
   * transaction as it is, or one the device signs with its next chain nonce (see enqueueDeviceTx).
   */
  putDescriptor(id: string, bytes: Uint8Array, createdMs: number, queue?: QueuedTx): void;
  /** Descriptors not yet acknowledged, oldest first. */
  pendingDescriptors(limit: number): DescriptorRecord[];
  /** Deletes acknowledged descriptors; unknown ids are ignored. */
  markDescriptorsAcked(ids: readonly string[]): number;

  /** Appends a transaction to the outbox and returns its position. */
  enqueueTx(kind: string, bytes: Uint8Array, createdMs: number): number;
  /**
   * Queues a transaction the device signs: `build` gets the device's next chain nonce, which is
   * taken in the same transaction (shared with the permission store's control records).
   */
  enqueueDeviceTx(build: TxBuilder, createdMs: number): number;
  /** Queued transactions in order, at most `limit`. */
  pendingTxs(limit: number): OutboxEntry[];
  /** Removes transactions that were submitted. */
  removeTxs(seqs: readonly number[]): number;

  /** Closes the store. Idempotent. */
  close(): void;
}

export type StoreErrorCode =
  | 'NOT_A_DATABASE'
  | 'CORRUPT'
  | 'SCHEMA_TOO_NEW'
  | 'OPEN_FAILED'
  | 'INVALID_RECORD'
  | 'CLOSED';

/** Why a store operation failed, with the database path where there is one. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    readonly path: string,
    message: string,
    readonly detail?: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'StoreError';
  }
}

/** Throws StoreError('INVALID_RECORD') naming the first field that is wrong. */
export function checkRecord(r: SealedChunkRecord, path = ''): void {
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new StoreError(
      'INVALID_RECORD',
      path,
      `chunk record ${field}: found ${String(found)}; expected ${expected}`,
    );
  };
  if (!/^[0-9a-f]{64}$/.test(r.id)) bad('id', '64 lower-case hex digits (a SHA-256)', JSON.stringify(r.id));
  if (r.vehicleId.length === 0) bad('vehicleId', 'a non-empty string', '""');
  if (r.stream.length === 0) bad('stream', 'a non-empty string', '""');
  if (!Number.isSafeInteger(r.seq) || r.seq < 0) bad('seq', 'an integer >= 0', r.seq);
  if (!(DATA_CLASSES as readonly string[]).includes(r.dataClass))
    bad('dataClass', DATA_CLASSES.join(' | '), r.dataClass);
  if (!Number.isSafeInteger(r.priority) || r.priority < 0) bad('priority', 'an integer >= 0', r.priority);
  if (!Number.isSafeInteger(r.sampleCount) || r.sampleCount < 0)
    bad('sampleCount', 'an integer >= 0', r.sampleCount);
  if (!(r.tEndMs >= r.tStartMs)) bad('tEndMs', `a time >= tStartMs (${r.tStartMs})`, r.tEndMs);
  if (!(r.bytes instanceof Uint8Array)) bad('bytes', 'a Uint8Array', typeof r.bytes);
}

/** A zeroed counter record. */
export function zeroCounters(): Record<StoreCounter, number> {
  return Object.fromEntries(STORE_COUNTERS.map((c) => [c, 0])) as Record<StoreCounter, number>;
}

/** A transaction for the outbox: its bytes, or a builder that signs with the device's next nonce. */
export type QueuedTx = { readonly kind: string; readonly bytes: Uint8Array } | TxBuilder;
