/**
 * The storage node's ingest database: ciphertext chunks as they arrived, kept once per id; signed
 * descriptors, kept once per id with the chunk ids each lists (so the node answers "which
 * descriptors cover this chunk" and "the chunks of this descriptor" from an index); and devices'
 * queued transactions, kept for submission to the chain. Each batch is one transaction (FULL
 * sync), and the ingest acknowledges only after it has committed, so whatever was acknowledged
 * survives a crash or power cut of the node.
 *
 * Transactions are keyed by (vehicle, outbox seq, SHA-256 of the bytes): a resend of the same one
 * is a duplicate, while a device whose store was recreated (a corrupt file moved aside) numbers
 * its outbox from 1 again, and those transactions are kept too, not mistaken for old ones; they are
 * counted as `seqReused`.
 *
 * `tx_submissions` is the device link's durable cursor over `txs`: one row per transaction it
 * has looked at (its highest `ord` is where it resumes), with what became of it.
 */
import { openDescriptor, sha256, toHex } from '../../chain/index.js';
import { asBlob, type SqliteDatabase, type SqliteMigration } from '../../process/index.js';
import { openNodeDatabase } from '../store/node-database.js';

/** 'QooN' as a 32-bit integer: a node's ingest database. */
export const INGEST_APPLICATION_ID = 0x516f6f4e;

const MIGRATIONS: readonly SqliteMigration[] = [
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
  (db) =>
    db.exec(`
      CREATE TABLE descriptors (
        ord         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
        id          TEXT    NOT NULL UNIQUE,            -- hex descriptor id
        vehicle_id  TEXT    NOT NULL,
        created_ms  INTEGER NOT NULL,                   -- when the device cut the batch
        received_ms INTEGER NOT NULL,
        chunk_count INTEGER NOT NULL,
        bytes       BLOB    NOT NULL                    -- the signed descriptor
      );
      CREATE INDEX descriptors_by_vehicle ON descriptors (vehicle_id, created_ms);
      CREATE TABLE descriptor_chunks (
        descriptor_id TEXT    NOT NULL REFERENCES descriptors (id),
        pos           INTEGER NOT NULL,                 -- position in the descriptor's list
        chunk_id      TEXT    NOT NULL,
        PRIMARY KEY (descriptor_id, pos)
      ) WITHOUT ROWID;
      CREATE INDEX descriptor_chunks_by_chunk ON descriptor_chunks (chunk_id);
      CREATE TABLE txs (
        ord         INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
        vehicle_id  TEXT    NOT NULL,
        seq         INTEGER NOT NULL,                   -- the device's outbox seq
        hash        TEXT    NOT NULL,                   -- hex SHA-256 of bytes
        kind        TEXT    NOT NULL,
        received_ms INTEGER NOT NULL,
        bytes       BLOB    NOT NULL,
        UNIQUE (vehicle_id, seq, hash)
      );
    `),
  // What buyers search by and what the chain anchors: a descriptor's public fields and its root.
  (db) => {
    db.exec(`
      CREATE TABLE descriptor_fields (
        id              TEXT    PRIMARY KEY REFERENCES descriptors (id),
        merkle_root     TEXT    NOT NULL,               -- hex; what the chain's anchor carries
        dictionary      TEXT    NOT NULL,
        data_class      TEXT    NOT NULL,               -- of its first stream (a batch holds one class)
        privacy         TEXT    NOT NULL,               -- of its first stream (and one privacy level)
        t_start_ms      INTEGER NOT NULL,
        t_end_ms        INTEGER NOT NULL,
        coarse_location TEXT                            -- null when the device did not publish one
      ) WITHOUT ROWID;
      CREATE INDEX descriptor_fields_by_root ON descriptor_fields (merkle_root);
      CREATE INDEX descriptor_fields_by_time ON descriptor_fields (t_start_ms);
    `);
    const insert = db.prepare('INSERT INTO descriptor_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of db.prepare('SELECT id, bytes FROM descriptors').iterate() as Iterable<{
      id: string;
      bytes: Buffer;
    }>) {
      try {
        insertFields(insert, r.id, new Uint8Array(r.bytes));
      } catch {
        // Stored descriptors were verified on arrival; one that no longer opens is left unlisted.
      }
    }
  },
  (db) =>
    db.exec(`
      CREATE TABLE tx_submissions (
        ord        INTEGER PRIMARY KEY REFERENCES txs (ord),
        state      TEXT    NOT NULL,                    -- SubmissionState
        tx_id      TEXT,                                -- hex chain tx id; null when not a chain tx
        height     INTEGER,                             -- admitted: head height then; included: final height
        reason     TEXT,                                -- why refused or skipped
        updated_ms INTEGER NOT NULL
      );
      CREATE INDEX tx_submissions_open ON tx_submissions (state) WHERE state IN ('waiting', 'admitted');
    `),
  // The storage role: the chain's final descriptor anchors by Merkle root, and how far they are read.
  (db) =>
    db.exec(`
      CREATE TABLE anchors (
        chain_id    TEXT    PRIMARY KEY,                -- hex id of the anchoring tx (the chain descriptor id)
        merkle_root TEXT    NOT NULL,                   -- hex
        height      INTEGER NOT NULL,                   -- final block that holds it
        agreement   TEXT    NOT NULL,
        vehicle     TEXT    NOT NULL,                   -- hex chain vehicle id of the agreement
        sender      TEXT    NOT NULL,
        chunk_count INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX anchors_by_root ON anchors (merkle_root, height);
      CREATE TABLE anchor_cursor (
        one         INTEGER PRIMARY KEY CHECK (one = 1),
        genesis_id  TEXT    NOT NULL,                   -- the chain the rows come from
        height      INTEGER NOT NULL                    -- every final block up to here is indexed
      );
    `),
];

function insertFields(insert: { run(...a: unknown[]): unknown }, id: string, bytes: Uint8Array): void {
  const { descriptor: d } = openDescriptor(bytes);
  insert.run(
    id,
    toHex(d.merkleRoot),
    d.dictionaryId,
    d.streams[0]?.dataClass ?? 'owner',
    // Private if any stream is (a batch holds one privacy level; this keeps a mixed one unlisted).
    d.streams.some((s) => s.privacy === 'private') ? 'private' : (d.streams[0]?.privacy ?? 'normal'),
    Math.floor(d.tStartUs / 1000),
    Math.ceil(d.tEndUs / 1000),
    d.coarseLocation,
  );
}

/** What the device link did with a queued transaction. */
export const SUBMISSION_STATES = ['waiting', 'admitted', 'included', 'refused', 'skipped'] as const;
export type SubmissionState = (typeof SUBMISSION_STATES)[number];

/** A queued transaction's submission record. */
export interface Submission {
  /** The transaction's `ord` in `txs`. */
  readonly ord: number;
  readonly state: SubmissionState;
  readonly txId: string | null;
  readonly height: number | null;
  readonly reason: string | null;
}

/** A stored transaction still waiting or admitted, with its record. */
export type OpenSubmission = StoredTx & { readonly submission: Submission };

/** A verified chunk to keep. */
export interface IngestChunk {
  readonly id: string;
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/** A verified descriptor to keep. */
export interface IngestDescriptor {
  /** Hex descriptor id. */
  readonly id: string;
  readonly vehicleId: string;
  readonly createdMs: number;
  /** Hex ids of the chunks it lists, in order. */
  readonly chunkIds: readonly string[];
  readonly bytes: Uint8Array;
}

/** A queued transaction to keep for the chain. */
export interface IngestTx {
  readonly vehicleId: string;
  /** The device's outbox seq. */
  readonly seq: number;
  readonly kind: string;
  readonly bytes: Uint8Array;
}

/** A stored descriptor's identity. */
export interface StoredDescriptor {
  readonly id: string;
  readonly vehicleId: string;
  readonly createdMs: number;
  readonly receivedMs: number;
  readonly chunkCount: number;
}

/** A stored transaction; `ord` is its arrival position, for paging through `listTxs`. */
export interface StoredTx {
  readonly ord: number;
  readonly vehicleId: string;
  readonly seq: number;
  readonly kind: string;
  /** Hex SHA-256 of `bytes`. */
  readonly hash: string;
  readonly receivedMs: number;
  readonly bytes: Uint8Array;
}

/** A stored descriptor with the public fields buyers search by. */
export interface DescriptorListing extends StoredDescriptor {
  /** Hex Merkle root (the chain's anchor of it carries the same). */
  readonly merkleRoot: string;
  readonly dictionary: string;
  readonly dataClass: string;
  /** `private` data is never sold (the device delivers no keys for it). */
  readonly privacy: string;
  readonly tStartMs: number;
  readonly tEndMs: number;
  readonly coarseLocation: string | null;
}

/** What to list descriptors by; every field narrows. */
export interface DescriptorQuery {
  readonly vehicleId?: string;
  readonly dictionary?: string;
  /** Descriptors whose time range overlaps [fromMs, toMs]. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Coarse location prefix, e.g. "47.4," or "47.4,8.5". */
  readonly location?: string;
  readonly merkleRoot?: string;
  /** Past this arrival position (paging), at most `limit` (default 100, at most 1000). */
  readonly afterOrd?: number;
  readonly limit?: number;
  /**
   * Leaves out descriptors of privacy `private`, except those of vehicle `exceptVehicle` (what the
   * HTTP listing asks: private data is shown to nobody but its owner, who proves it per request).
   */
  readonly hidePrivate?: { readonly exceptVehicle?: string };
}

/** A descriptor the chain anchored in a final block. */
export interface AnchorRow {
  /** Hex id of the anchoring transaction: the chain descriptor id orders name. */
  readonly chainId: string;
  /** Hex Merkle root it anchors. */
  readonly merkleRoot: string;
  readonly height: number;
  readonly agreement: string;
  /** Hex chain vehicle id of the agreement. */
  readonly vehicle: string;
  readonly sender: string;
  readonly chunkCount: number;
}

/** A chunk a descriptor lists, with its sealed bytes when the node holds it. */
export interface DescribedChunk {
  readonly id: string;
  readonly bytes: Uint8Array | undefined;
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
  readonly #db: SqliteDatabase;
  readonly #insert;
  readonly #bytes;
  readonly #count;
  readonly #rows;
  readonly #maxSeq;
  readonly #q;
  #closed = false;

  /** Opens or creates the file; throws chain's StoreError when it is not usable (see node-database.ts). */
  constructor(options: { path: string }) {
    this.path = options.path;
    this.#db = openNodeDatabase({
      path: options.path,
      applicationId: INGEST_APPLICATION_ID,
      name: 'a qood ingest database',
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
    const d =
      'id, vehicle_id AS vehicleId, created_ms AS createdMs, received_ms AS receivedMs, chunk_count AS chunkCount';
    this.#q = {
      insertDescriptor: this.#db.prepare(
        'INSERT INTO descriptors (id, vehicle_id, created_ms, received_ms, chunk_count, bytes) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      insertDescribed: this.#db.prepare(
        'INSERT INTO descriptor_chunks (descriptor_id, pos, chunk_id) VALUES (?, ?, ?)',
      ),
      descriptorBytes: this.#db.prepare('SELECT bytes FROM descriptors WHERE id = ?').pluck(),
      descriptorAccess: this.#db.prepare(
        `SELECT d.vehicle_id AS vehicleId, coalesce(f.privacy, 'private') AS privacy
         FROM descriptors d LEFT JOIN descriptor_fields f ON f.id = d.id WHERE d.id = ?`,
      ),
      insertFields: this.#db.prepare('INSERT INTO descriptor_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      listDescriptors: this.#db.prepare(
        `SELECT d.ord AS ord, ${d.replaceAll(/(^|, )/g, '$1d.')}, f.merkle_root AS merkleRoot, f.dictionary AS dictionary,
                f.data_class AS dataClass, f.privacy AS privacy, f.t_start_ms AS tStartMs, f.t_end_ms AS tEndMs,
                f.coarse_location AS coarseLocation
         FROM descriptors d JOIN descriptor_fields f ON f.id = d.id
         WHERE d.ord > @after
           AND (@vehicle IS NULL OR d.vehicle_id = @vehicle)
           AND (@dictionary IS NULL OR f.dictionary = @dictionary)
           AND (@from IS NULL OR f.t_end_ms >= @from)
           AND (@to IS NULL OR f.t_start_ms <= @to)
           AND (@location IS NULL OR substr(f.coarse_location, 1, length(@location)) = @location)
           AND (@root IS NULL OR f.merkle_root = @root)
           AND (@hide = 0 OR f.privacy <> 'private' OR d.vehicle_id = @except)
         ORDER BY d.ord LIMIT @limit`,
      ),
      descriptorRows: this.#db.prepare(`SELECT ${d} FROM descriptors ORDER BY ord`),
      descriptorCount: this.#db.prepare('SELECT count(*) FROM descriptors').pluck(),
      covering: this.#db.prepare(
        `SELECT ${d} FROM descriptors
         WHERE id IN (SELECT descriptor_id FROM descriptor_chunks WHERE chunk_id = ?)
           AND vehicle_id = (SELECT vehicle_id FROM chunks WHERE id = ?)
         ORDER BY ord`,
      ),
      described: this.#db.prepare(
        `SELECT dc.chunk_id AS id, c.bytes AS bytes
         FROM descriptor_chunks dc
         JOIN descriptors d ON d.id = dc.descriptor_id
         LEFT JOIN chunks c ON c.id = dc.chunk_id AND c.vehicle_id = d.vehicle_id
         WHERE dc.descriptor_id = ? ORDER BY dc.pos`,
      ),
      describedPage: this.#db.prepare(
        `SELECT dc.pos AS pos, dc.chunk_id AS id, c.bytes AS bytes
         FROM descriptor_chunks dc
         JOIN descriptors d ON d.id = dc.descriptor_id
         LEFT JOIN chunks c ON c.id = dc.chunk_id AND c.vehicle_id = d.vehicle_id
         WHERE dc.descriptor_id = ? AND dc.pos > ? ORDER BY dc.pos LIMIT ?`,
      ),
      insertTx: this.#db.prepare(
        'INSERT INTO txs (vehicle_id, seq, hash, kind, received_ms, bytes) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (vehicle_id, seq, hash) DO NOTHING',
      ),
      seqTaken: this.#db.prepare('SELECT count(*) FROM txs WHERE vehicle_id = ? AND seq = ?').pluck(),
      txs: this.#db.prepare(
        `SELECT ord, vehicle_id AS vehicleId, seq, kind, hash, received_ms AS receivedMs, bytes FROM txs
         WHERE ord > ? AND (? IS NULL OR vehicle_id = ?) ORDER BY ord LIMIT ?`,
      ),
      txCount: this.#db.prepare('SELECT count(*) FROM txs').pluck(),
      subCursor: this.#db.prepare('SELECT coalesce(max(ord), 0) FROM tx_submissions').pluck(),
      subPut: this.#db.prepare(
        `INSERT INTO tx_submissions (ord, state, tx_id, height, reason, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (ord) DO UPDATE SET state = excluded.state, tx_id = excluded.tx_id,
           height = excluded.height, reason = excluded.reason, updated_ms = excluded.updated_ms`,
      ),
      subOpen: this.#db.prepare(
        `SELECT t.ord, t.vehicle_id AS vehicleId, t.seq, t.kind, t.hash, t.received_ms AS receivedMs, t.bytes,
                s.state, s.tx_id AS txId, s.height, s.reason
         FROM tx_submissions s JOIN txs t ON t.ord = s.ord
         WHERE s.state IN ('waiting', 'admitted') ORDER BY s.ord`,
      ),
      subCounts: this.#db.prepare('SELECT state, count(*) AS n FROM tx_submissions GROUP BY state'),
      subGet: this.#db.prepare(
        'SELECT ord, state, tx_id AS txId, height, reason FROM tx_submissions WHERE ord = ?',
      ),
      insertAnchor: this.#db.prepare(
        'INSERT INTO anchors VALUES (@chainId, @merkleRoot, @height, @agreement, @vehicle, @sender, @chunkCount) ON CONFLICT (chain_id) DO NOTHING',
      ),
      anchorsOfRoot: this.#db.prepare(
        `SELECT chain_id AS chainId, merkle_root AS merkleRoot, height, agreement, vehicle, sender,
                chunk_count AS chunkCount
         FROM anchors WHERE merkle_root = ? ORDER BY height, chain_id`,
      ),
      cursor: this.#db.prepare('SELECT genesis_id AS genesisId, height FROM anchor_cursor WHERE one = 1'),
      setCursor: this.#db.prepare(
        'INSERT INTO anchor_cursor VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET genesis_id = excluded.genesis_id, height = excluded.height',
      ),
      clearAnchors: this.#db.prepare('DELETE FROM anchors'),
    };
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

  /** Stores descriptors (with the chunk ids each lists) in one transaction; duplicates change nothing. */
  putDescriptors(
    descriptors: readonly IngestDescriptor[],
    receivedMs: number,
  ): { added: number; duplicates: number } {
    const q = this.#q;
    return this.#db
      .transaction(() => {
        let added = 0;
        for (const d of descriptors) {
          const r = q.insertDescriptor.run(
            d.id,
            d.vehicleId,
            d.createdMs,
            receivedMs,
            d.chunkIds.length,
            asBlob(d.bytes),
          );
          if (r.changes === 0) continue;
          added++;
          for (const [i, c] of d.chunkIds.entries()) q.insertDescribed.run(d.id, i, c);
          insertFields(q.insertFields, d.id, d.bytes);
        }
        return { added, duplicates: descriptors.length - added };
      })
      .immediate();
  }

  /**
   * Stores transactions in one transaction; a resend (same vehicle, seq and bytes) changes nothing.
   * `seqReused` counts new ones whose (vehicle, seq) was already taken by other bytes.
   */
  putTxs(
    txs: readonly IngestTx[],
    receivedMs: number,
  ): { added: number; duplicates: number; seqReused: number } {
    const q = this.#q;
    return this.#db
      .transaction(() => {
        let added = 0;
        let seqReused = 0;
        for (const t of txs) {
          const taken = (q.seqTaken.get(t.vehicleId, t.seq) as number) > 0;
          const hash = toHex(sha256(t.bytes));
          const n = q.insertTx.run(t.vehicleId, t.seq, hash, t.kind, receivedMs, asBlob(t.bytes)).changes;
          added += n;
          if (n > 0 && taken) seqReused++;
        }
        return { added, duplicates: txs.length - added, seqReused };
      })
      .immediate();
  }

  /** The signed bytes of a stored descriptor, or undefined. */
  /** A stored descriptor's vehicle and privacy (what decides who may read it), or undefined. */
  descriptorAccess(id: string): { readonly vehicleId: string; readonly privacy: string } | undefined {
    return this.#q.descriptorAccess.get(id) as { vehicleId: string; privacy: string } | undefined;
  }

  descriptorBytes(id: string): Uint8Array | undefined {
    const b = this.#q.descriptorBytes.get(id) as Buffer | undefined;
    return b === undefined ? undefined : new Uint8Array(b);
  }

  /**
   * The descriptors that list this chunk id, in arrival order: only the chunk's own vehicle's (a
   * descriptor cannot claim another vehicle's chunks), and none for a chunk the node does not hold.
   */
  descriptorsOfChunk(chunkId: string): StoredDescriptor[] {
    return this.#q.covering.all(chunkId, chunkId) as StoredDescriptor[];
  }

  /**
   * The chunks a descriptor lists, in its order, each with its sealed bytes when the node holds it
   * for the descriptor's vehicle (a chunk may arrive after its descriptor); undefined when the
   * descriptor is not stored.
   */
  chunksOfDescriptor(descriptorId: string): DescribedChunk[] | undefined {
    const rows = this.#q.described.all(descriptorId) as { id: string; bytes: Buffer | null }[];
    if (rows.length === 0) return undefined; // a stored descriptor lists at least one chunk
    return rows.map((r) => ({ id: r.id, bytes: r.bytes === null ? undefined : new Uint8Array(r.bytes) }));
  }

  /**
   * A page of the chunks a descriptor lists: positions after `afterPos` (-1: from the start), at
   * most `limit`, each with its sealed bytes when the node holds it.
   */
  chunksOfDescriptorPage(
    descriptorId: string,
    afterPos: number,
    limit: number,
  ): (DescribedChunk & { readonly pos: number })[] {
    const rows = this.#q.describedPage.all(descriptorId, afterPos, limit) as {
      pos: number;
      id: string;
      bytes: Buffer | null;
    }[];
    return rows.map((r) => ({
      pos: r.pos,
      id: r.id,
      bytes: r.bytes === null ? undefined : new Uint8Array(r.bytes),
    }));
  }

  /** Descriptors matching `query`, in arrival order (`ord` for paging). */
  listDescriptors(query: DescriptorQuery = {}): (DescriptorListing & { readonly ord: number })[] {
    return this.#q.listDescriptors.all({
      after: query.afterOrd ?? 0,
      vehicle: query.vehicleId ?? null,
      dictionary: query.dictionary ?? null,
      from: query.fromMs ?? null,
      to: query.toMs ?? null,
      location: query.location ?? null,
      root: query.merkleRoot ?? null,
      hide: query.hidePrivate === undefined ? 0 : 1,
      except: query.hidePrivate?.exceptVehicle ?? null,
      limit: Math.min(Math.max(query.limit ?? 100, 1), 1000),
    }) as (DescriptorListing & { ord: number })[];
  }

  /** Every descriptor's identity in arrival order (for checks and tests; not for a large store). */
  descriptorRows(): StoredDescriptor[] {
    return this.#q.descriptorRows.all() as StoredDescriptor[];
  }

  /** The vehicles (config ids) this database holds descriptors of (read once at start; indexed). */
  descriptorVehicles(): string[] {
    return this.#db.prepare('SELECT DISTINCT vehicle_id FROM descriptors').pluck().all() as string[];
  }

  /** Number of descriptors kept. */
  descriptorCount(): number {
    return this.#q.descriptorCount.get() as number;
  }

  /**
   * Stored transactions in arrival order, for submission to the chain: those after `afterOrd`
   * (default: from the start), of one vehicle or all, at most `limit` (default 1000).
   */
  listTxs(options: { afterOrd?: number; vehicleId?: string; limit?: number } = {}): StoredTx[] {
    const v = options.vehicleId ?? null;
    const rows = this.#q.txs.all(options.afterOrd ?? 0, v, v, options.limit ?? 1000) as (Omit<
      StoredTx,
      'bytes'
    > & { bytes: Buffer })[];
    return rows.map((r) => ({ ...r, bytes: new Uint8Array(r.bytes) }));
  }

  /** The highest `ord` the bridge has a submission record for (0: none). */
  submissionCursor(): number {
    return this.#q.subCursor.get() as number;
  }

  /** Writes submission records (new or updated) in one transaction. */
  recordSubmissions(rows: readonly Submission[], nowMs: number): void {
    if (rows.length === 0) return;
    const q = this.#q;
    this.#db
      .transaction(() => {
        for (const r of rows) q.subPut.run(r.ord, r.state, r.txId, r.height, r.reason, nowMs);
      })
      .immediate();
  }

  /**
   * Height through which the chain `genesisId` (hex) has been indexed; 0 for a new index. An index
   * of another chain (a devnet made again on the same folder) is dropped first.
   */
  anchorCursor(genesisId: string): number {
    const c = this.#q.cursor.get() as { genesisId: string; height: number } | undefined;
    if (c?.genesisId === genesisId) return c.height;
    this.#db
      .transaction(() => {
        this.#q.clearAnchors.run();
        this.#q.setCursor.run(genesisId, 0);
      })
      .immediate();
    return 0;
  }

  /** Adds the anchors of final blocks up to `throughHeight` and moves the cursor there, in one transaction. */
  putAnchors(genesisId: string, rows: readonly AnchorRow[], throughHeight: number): void {
    const q = this.#q;
    this.#db
      .transaction(() => {
        for (const r of rows) q.insertAnchor.run(r);
        q.setCursor.run(genesisId, throughHeight);
      })
      .immediate();
  }

  /** The submission record of one transaction, or undefined. */
  submission(ord: number): Submission | undefined {
    return this.#q.subGet.get(ord) as Submission | undefined;
  }

  /** Transactions whose record says waiting or admitted, in `ord` order (what a restart resumes). */
  openSubmissions(): OpenSubmission[] {
    const rows = this.#q.subOpen.all() as (Omit<StoredTx, 'bytes'> &
      Omit<Submission, 'ord'> & { bytes: Buffer })[];
    return rows.map((r) => ({
      ord: r.ord,
      vehicleId: r.vehicleId,
      seq: r.seq,
      kind: r.kind,
      hash: r.hash,
      receivedMs: r.receivedMs,
      bytes: new Uint8Array(r.bytes),
      submission: { ord: r.ord, state: r.state, txId: r.txId, height: r.height, reason: r.reason },
    }));
  }

  /** How many submission records are in each state. */
  submissionCounts(): Record<SubmissionState, number> {
    const out = Object.fromEntries(SUBMISSION_STATES.map((s) => [s, 0])) as Record<SubmissionState, number>;
    for (const r of this.#q.subCounts.all() as { state: SubmissionState; n: number }[]) out[r.state] = r.n;
    return out;
  }

  /** The final anchors of a Merkle root (hex), earliest first. */
  anchorsOfRoot(merkleRoot: string): AnchorRow[] {
    return this.#q.anchorsOfRoot.all(merkleRoot) as AnchorRow[];
  }

  /** Number of transactions kept. */
  txCount(): number {
    return this.#q.txCount.get() as number;
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
