/**
 * `ChainStore`: what a node keeps of the chain. Blocks by height and by id, the finality
 * certificate of each block made final, the last final height, the genesis spec (with the blocks,
 * enough to rebuild the state at any stored height: see rebuild.ts), and two indexes: where a
 * transaction is (by id) and which grants a vehicle has. Two implementations share this contract
 * and one test suite: memory-store.ts (tests, the simulator) and node/store/sqlite-chain-store.ts (a
 * node's file).
 *
 * The store keeps the chain's shape, not its validity: it appends only the block that extends its
 * head (height and parent), marks final only a stored block and never below the last final height,
 * and drops blocks above a height only when none of them is final. Signatures and state are
 * checked by the state machine and consensus before anything is stored.
 */

import { bytesEqual, toHex } from '../crypto/hash.js';
import type { FinalityCertificate } from '../dpos/finality.js';
import type { Block, GenesisSpec } from '../state/block.js';
import { headerId } from '../tx/header.js';

export type StoreErrorCode =
  /** No genesis spec has been set. */
  | 'NO_GENESIS'
  /** Another genesis spec is already stored. */
  | 'GENESIS_MISMATCH'
  /** A block that is not at head + 1. */
  | 'NOT_NEXT'
  /** A block whose parent is not the stored head. */
  | 'WRONG_PARENT'
  /** A certificate for a block the store does not hold. */
  | 'UNKNOWN_BLOCK'
  /** A certificate below the last final height. */
  | 'FINAL_REGRESSION'
  /** Dropping blocks would drop a final one. */
  | 'FINAL_BLOCK'
  /** Stored bytes that do not decode, or a store file that fails its integrity check (damaged, edited). */
  | 'CORRUPT'
  /** The store was closed. */
  | 'CLOSED'
  /** A store file that is not a database of this kind (opening a file-backed store). */
  | 'NOT_A_DATABASE'
  /** A store file written by a newer program (opening a file-backed store). */
  | 'SCHEMA_TOO_NEW'
  /** A store file that cannot be opened for another reason: permissions, a missing folder. */
  | 'OPEN_FAILED';

/**
 * Why the store refused an operation, with the height concerned (null when none is). A file-backed
 * store names its file in the message and passes the adapter's error as `cause`.
 */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    readonly height: number | null,
    message: string,
    options?: ErrorOptions,
  ) {
    super(height === null ? message : `height ${height}: ${message}`, options);
    this.name = 'StoreError';
  }
}

/** Where a transaction is: its block's height and its index there. */
export interface TxLocation {
  readonly height: number;
  readonly index: number;
}

/** A grant recorded for a vehicle: its id (the grant transaction's id, hex) and height. */
export interface VehicleGrant {
  readonly grant: string;
  readonly height: number;
}

export interface ChainStore {
  /** The genesis spec, or undefined in a new store. */
  genesis(): GenesisSpec | undefined;
  /** Records the genesis spec; the same spec again is a no-op, another one GENESIS_MISMATCH. */
  setGenesis(spec: GenesisSpec): void;
  /** Height of the highest stored block (0 when there is none). */
  headHeight(): number;
  /** Appends the block at head + 1 whose parent is the head; indexes its transactions and grants. */
  putBlock(block: Block): void;
  /** The block at `height`. */
  block(height: number): Block | undefined;
  /** The block with header id `id`. */
  blockById(id: Uint8Array): Block | undefined;
  /** The header id of the block at `height` (the cheap way to check a parent or a certificate). */
  blockId(height: number): Uint8Array | undefined;
  /** Stores the certificate of a stored block and makes its height the last final one. */
  putCertificate(cert: FinalityCertificate): void;
  /** The certificate stored for `height`. */
  certificate(height: number): FinalityCertificate | undefined;
  /** The last final height (0: only genesis is final). */
  lastFinal(): number;
  /** Drops the blocks above `height` (a fork switch); refuses to drop a final block. */
  truncateAbove(height: number): void;
  /** Where a transaction is, by its id. */
  txLocation(txId: Uint8Array): TxLocation | undefined;
  /** The grants recorded for a vehicle (32-byte id, hex), in height order. */
  grantsOfVehicle(vehicle: string): VehicleGrant[];
  /** Releases the store; later calls throw StoreError('CLOSED'). Idempotent. */
  close(): void;
}

/** Checks that `block` extends `store`'s head; `genesisId` is the parent of block 1. */
export function checkAppend(store: ChainStore, block: Block, genesisId: Uint8Array): void {
  const h = block.header.header;
  const head = store.headHeight();
  if (h.height !== head + 1) throw new StoreError('NOT_NEXT', h.height, `the store's head is ${head}`);
  const parent = head === 0 ? genesisId : store.blockId(head)!;
  if (!bytesEqual(h.prevHash, parent))
    throw new StoreError('WRONG_PARENT', h.height, `parent is not ${toHex(parent).slice(0, 16)}...`);
}

/** Checks that `cert` names a stored block at or above the last final height. */
export function checkCertificate(store: ChainStore, cert: FinalityCertificate): void {
  const id = store.blockId(cert.height);
  if (id === undefined || !bytesEqual(id, cert.blockId))
    throw new StoreError(
      'UNKNOWN_BLOCK',
      cert.height,
      `no stored block ${toHex(cert.blockId).slice(0, 16)}...`,
    );
  if (cert.height < store.lastFinal())
    throw new StoreError('FINAL_REGRESSION', cert.height, `the last final height is ${store.lastFinal()}`);
}

/** Checks that truncating above `height` keeps every final block. */
export function checkTruncate(store: ChainStore, height: number): void {
  if (height < store.lastFinal())
    throw new StoreError('FINAL_BLOCK', height, `blocks up to ${store.lastFinal()} are final`);
}

/** The grants a block records: [grant id (hex), vehicle (hex)] for each grant transaction. */
export function grantsIn(block: Block): [string, string][] {
  return block.txs
    .filter((t) => t.tx.kind === 'grant')
    .map((t) => [toHex(t.id), (t.tx.body as { vehicle: string }).vehicle]);
}

/** The header id of a block. */
export function idOf(block: Block): Uint8Array {
  return headerId(block.header.header);
}
