/**
 * `SqliteChainStore`: the ChainStore contract in an SQLite file (opened by node-database.ts through
 * the process adapter: WAL, synchronous = FULL, quick_check at open, its own application id). A block, its
 * transaction index and its grants are written in one SQL transaction, as are a certificate and
 * the last final height, so a crash leaves either all or none of them. Blocks and certificates are
 * stored as their canonical bytes (codec.ts); reading a row that does not decode is
 * StoreError('CORRUPT') naming the height.
 */

import {
  type Block,
  type ChainStore,
  CodecError,
  checkAppend,
  checkStoreCertificate,
  checkTruncate,
  createGenesis,
  decodeBlock,
  decodeCertificate,
  decodeGenesis,
  encodeBlock,
  encodeCertificate,
  encodeGenesis,
  type FinalityCertificate,
  type GenesisSpec,
  grantsIn,
  idOf,
  StoreError,
  type TxLocation,
  toHex,
  type VehicleGrant,
} from '../../chain/index.js';
import { asBlob, type SqliteDatabase, type SqliteMigration } from '../../process/index.js';
import { openNodeDatabase } from './node-database.js';

/** 'QooC': marks a chain store file. */
export const CHAIN_STORE_APPLICATION_ID = 0x516f6f43;

const MIGRATIONS: readonly SqliteMigration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
      CREATE TABLE blocks (height INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, bytes BLOB NOT NULL) STRICT;
      CREATE TABLE certificates (height INTEGER PRIMARY KEY, bytes BLOB NOT NULL) STRICT;
      CREATE TABLE txs (id BLOB PRIMARY KEY, height INTEGER NOT NULL, idx INTEGER NOT NULL) STRICT;
      CREATE INDEX txs_height ON txs (height);
      CREATE TABLE grants (vehicle TEXT NOT NULL, grant_id TEXT NOT NULL, height INTEGER NOT NULL,
        PRIMARY KEY (vehicle, grant_id)) STRICT;
      CREATE INDEX grants_height ON grants (height);
    `),
];

export class SqliteChainStore implements ChainStore {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #q;
  #genesis: { spec: GenesisSpec; bytes: string; id: Uint8Array } | undefined;
  #head: number;
  #final: number;
  #closed = false;

  /**
   * Opens or creates the file; throws StoreError when it is not usable (NOT_A_DATABASE, CORRUPT,
   * SCHEMA_TOO_NEW, OPEN_FAILED) or when its genesis does not decode (CORRUPT).
   */
  constructor(options: { readonly path: string }) {
    this.path = options.path;
    this.#db = openNodeDatabase({
      path: options.path,
      applicationId: CHAIN_STORE_APPLICATION_ID,
      name: 'a qood chain store',
      migrations: MIGRATIONS,
    });
    const db = this.#db;
    this.#q = {
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      head: db.prepare('SELECT coalesce(max(height), 0) FROM blocks').pluck(),
      insertBlock: db.prepare('INSERT INTO blocks (height, id, bytes) VALUES (?, ?, ?)'),
      blockBytes: db.prepare('SELECT bytes FROM blocks WHERE height = ?').pluck(),
      blockHeightById: db.prepare('SELECT height FROM blocks WHERE id = ?').pluck(),
      blockId: db.prepare('SELECT id FROM blocks WHERE height = ?').pluck(),
      insertTx: db.prepare('INSERT OR REPLACE INTO txs (id, height, idx) VALUES (?, ?, ?)'),
      tx: db.prepare('SELECT height, idx AS "index" FROM txs WHERE id = ?'),
      insertGrant: db.prepare('INSERT OR REPLACE INTO grants (vehicle, grant_id, height) VALUES (?, ?, ?)'),
      grants: db.prepare(
        'SELECT grant_id AS "grant", height FROM grants WHERE vehicle = ? ORDER BY height, grant_id',
      ),
      putCert: db.prepare('INSERT OR REPLACE INTO certificates (height, bytes) VALUES (?, ?)'),
      cert: db.prepare('SELECT bytes FROM certificates WHERE height = ?').pluck(),
      dropBlocks: db.prepare('DELETE FROM blocks WHERE height > ?'),
      dropTxs: db.prepare('DELETE FROM txs WHERE height > ?'),
      dropGrants: db.prepare('DELETE FROM grants WHERE height > ?'),
    };
    const g = this.#q.meta.get('genesis') as Buffer | undefined;
    if (g !== undefined) {
      const spec = this.#decode(0, 'genesis', () => decodeGenesis(new Uint8Array(g)));
      this.#genesis = { spec, bytes: toHex(g), id: createGenesis(spec).blockId };
    }
    this.#head = this.#q.head.get() as number;
    const f = this.#q.meta.get('final') as Buffer | undefined;
    this.#final = f === undefined ? 0 : f.readUInt32BE(0);
  }

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', null, `${this.path}: the chain store is closed`);
  }

  #decode<T>(height: number, what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof CodecError)
        throw new StoreError('CORRUPT', height, `${this.path}: stored ${what} does not decode: ${e.message}`);
      throw e;
    }
  }

  genesis(): GenesisSpec | undefined {
    this.#open();
    return this.#genesis?.spec;
  }

  setGenesis(spec: GenesisSpec): void {
    this.#open();
    const bytes = encodeGenesis(spec);
    if (this.#genesis !== undefined) {
      if (this.#genesis.bytes !== toHex(bytes))
        throw new StoreError('GENESIS_MISMATCH', 0, `${this.path} holds another genesis`);
      return;
    }
    const id = createGenesis(spec).blockId;
    this.#q.setMeta.run('genesis', asBlob(bytes));
    this.#genesis = { spec, bytes: toHex(bytes), id };
  }

  headHeight(): number {
    this.#open();
    return this.#head;
  }

  putBlock(block: Block): void {
    this.#open();
    if (this.#genesis === undefined) throw new StoreError('NO_GENESIS', null, 'set the genesis first');
    checkAppend(this, block, this.#genesis.id);
    const height = block.header.header.height;
    this.#db.transaction(() => {
      this.#q.insertBlock.run(height, asBlob(idOf(block)), asBlob(encodeBlock(block)));
      block.txs.forEach((t, i) => {
        this.#q.insertTx.run(asBlob(t.id), height, i);
      });
      for (const [grant, vehicle] of grantsIn(block)) this.#q.insertGrant.run(vehicle, grant, height);
    })();
    this.#head = height;
  }

  block(height: number): Block | undefined {
    this.#open();
    const b = this.#q.blockBytes.get(height) as Buffer | undefined;
    return b === undefined ? undefined : this.#decode(height, 'block', () => decodeBlock(new Uint8Array(b)));
  }

  blockById(id: Uint8Array): Block | undefined {
    this.#open();
    const h = this.#q.blockHeightById.get(asBlob(id)) as number | undefined;
    return h === undefined ? undefined : this.block(h);
  }

  blockId(height: number): Uint8Array | undefined {
    this.#open();
    const id = this.#q.blockId.get(height) as Buffer | undefined;
    return id === undefined ? undefined : new Uint8Array(id);
  }

  putCertificate(cert: FinalityCertificate): void {
    this.#open();
    checkStoreCertificate(this, cert);
    const final = Buffer.alloc(4);
    final.writeUInt32BE(cert.height);
    this.#db.transaction(() => {
      this.#q.putCert.run(cert.height, asBlob(encodeCertificate(cert)));
      this.#q.setMeta.run('final', final);
    })();
    this.#final = cert.height;
  }

  certificate(height: number): FinalityCertificate | undefined {
    this.#open();
    const b = this.#q.cert.get(height) as Buffer | undefined;
    return b === undefined
      ? undefined
      : this.#decode(height, 'certificate', () => decodeCertificate(new Uint8Array(b)));
  }

  lastFinal(): number {
    this.#open();
    return this.#final;
  }

  truncateAbove(height: number): void {
    this.#open();
    checkTruncate(this, height);
    this.#db.transaction(() => {
      this.#q.dropBlocks.run(height);
      this.#q.dropTxs.run(height);
      this.#q.dropGrants.run(height);
    })();
    this.#head = Math.min(this.#head, height);
  }

  txLocation(txId: Uint8Array): TxLocation | undefined {
    this.#open();
    return this.#q.tx.get(asBlob(txId)) as TxLocation | undefined;
  }

  grantsOfVehicle(vehicle: string): VehicleGrant[] {
    this.#open();
    return this.#q.grants.all(vehicle) as VehicleGrant[];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
