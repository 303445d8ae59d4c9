/**
 * The storage node's chunk table: ciphertext chunks as they arrived, kept once per id. A batch is
 * one transaction (FULL sync), and the ingest acknowledges only after it has committed, so an
 * acknowledged chunk survives a crash or power cut of the node.
 */
import { asBlob, type NodeDatabase, openNodeDatabase } from '../sqlite-file.js';

/** 'QooN' as a 32-bit integer: a node's ingest database. */
export const INGEST_APPLICATION_ID = 0x516f6f4e;

const MIGRATIONS: readonly ((db: NodeDatabase) => void)[] = [
  (db) =>
    db.exec(`
      CREATE TABLE chunks (
        ord         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
        id          TEXT    NOT NULL UNIQUE,            -- hex SHA-256 of the chunk header
        vehicle_id  TEXT    NOT NULL,
        stream      TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        bytes       BLOB    NOT NULL
      );
      CREATE INDEX chunks_by_stream ON chunks (vehicle_id, stream, seq);
    `),
];

/** A verified chunk to keep. */
export interface IngestChunk {
  readonly id: string;
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/** A stored chunk's identity, in arrival order. */
export interface IngestedRow {
  readonly id: string;
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
  readonly size: number;
}

export class IngestStore {
  readonly path: string;
  readonly #db: NodeDatabase;
  readonly #insert;
  readonly #bytes;
  readonly #count;
  readonly #rows;
  readonly #maxSeq;
  #closed = false;

  /** Opens or creates the file; throws NodeDbError when it is not usable. */
  constructor(options: { path: string }) {
    this.path = options.path;
    this.#db = openNodeDatabase({
      path: options.path,
      applicationId: INGEST_APPLICATION_ID,
      migrations: MIGRATIONS,
    });
    this.#insert = this.#db.prepare(
      'INSERT INTO chunks (id, vehicle_id, stream, seq, received_ms, bytes) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.#count = this.#db.prepare('SELECT count(*) FROM chunks').pluck();
    this.#maxSeq = this.#db
      .prepare('SELECT max(seq) FROM chunks WHERE vehicle_id = ? AND stream = ?')
      .pluck();
    this.#rows = this.#db.prepare(
      'SELECT id, vehicle_id AS vehicleId, stream, seq, length(bytes) AS size FROM chunks ORDER BY ord',
    );
    this.#bytes = this.#db.prepare('SELECT bytes FROM chunks WHERE id = ?').pluck();
  }

  /** The sealed bytes of a stored chunk (what a storage node serves to a buyer), or undefined. */
  chunkBytes(id: string): Uint8Array | undefined {
    const b = this.#bytes.get(id) as Buffer | undefined;
    return b === undefined ? undefined : new Uint8Array(b);
  }

  /** Stores a batch in one transaction; returns how many were new (the rest were duplicates). */
  putBatch(chunks: readonly IngestChunk[], receivedMs: number): { added: number; duplicates: number } {
    return this.#db
      .transaction(() => {
        let added = 0;
        for (const c of chunks)
          added += this.#insert.run(c.id, c.vehicleId, c.stream, c.seq, receivedMs, asBlob(c.bytes)).changes;
        return { added, duplicates: chunks.length - added };
      })
      .immediate();
  }

  /** Highest seq stored for a vehicle's stream, or undefined when none is. */
  maxSeq(vehicleId: string, stream: string): number | undefined {
    return (this.#maxSeq.get(vehicleId, stream) as number | null) ?? undefined;
  }

  /** Number of chunks kept. */
  count(): number {
    return this.#count.get() as number;
  }

  /** Every chunk's identity in arrival order (for checks and tests; not for a large store). */
  rows(): IngestedRow[] {
    return this.#rows.all() as IngestedRow[];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
