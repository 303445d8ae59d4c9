/**
 * `MemoryChainStore`: the ChainStore contract in memory, for tests and the devnet simulator. It
 * keeps block objects as given (callers do not mutate blocks) and loses everything on close.
 */

import { toHex } from '../crypto/hash.js';
import type { FinalityCertificate } from '../dpos/finality.js';
import { type Block, createGenesis, type GenesisSpec } from '../state/block.js';
import {
  type ChainStore,
  checkAppend,
  checkCertificate,
  checkTruncate,
  grantsIn,
  idOf,
  StoreError,
  type TxLocation,
  type VehicleGrant,
} from './chain-store.js';
import { encodeGenesis } from './codec.js';

export class MemoryChainStore implements ChainStore {
  #genesis: { spec: GenesisSpec; bytes: string; id: Uint8Array } | undefined;
  readonly #blocks: { block: Block; id: Uint8Array }[] = [];
  readonly #byId = new Map<string, number>();
  readonly #certs = new Map<number, FinalityCertificate>();
  readonly #txs = new Map<string, TxLocation>();
  readonly #grants = new Map<string, VehicleGrant[]>();
  #final = 0;
  #closed = false;

  #open(): void {
    if (this.#closed) throw new StoreError('CLOSED', null, 'the chain store is closed');
  }

  genesis(): GenesisSpec | undefined {
    this.#open();
    return this.#genesis?.spec;
  }

  setGenesis(spec: GenesisSpec): void {
    this.#open();
    const bytes = toHex(encodeGenesis(spec));
    if (this.#genesis !== undefined) {
      if (this.#genesis.bytes !== bytes)
        throw new StoreError('GENESIS_MISMATCH', 0, 'another genesis is stored');
      return;
    }
    this.#genesis = { spec, bytes, id: createGenesis(spec).blockId };
  }

  headHeight(): number {
    this.#open();
    return this.#blocks.length;
  }

  putBlock(block: Block): void {
    this.#open();
    if (this.#genesis === undefined) throw new StoreError('NO_GENESIS', null, 'set the genesis first');
    checkAppend(this, block, this.#genesis.id);
    const id = idOf(block);
    const height = block.header.header.height;
    this.#blocks.push({ block, id });
    this.#byId.set(toHex(id), height);
    block.txs.forEach((t, index) => {
      this.#txs.set(toHex(t.id), { height, index });
    });
    for (const [grant, vehicle] of grantsIn(block)) {
      const list = this.#grants.get(vehicle) ?? [];
      list.push({ grant, height });
      this.#grants.set(vehicle, list);
    }
  }

  block(height: number): Block | undefined {
    this.#open();
    return this.#blocks[height - 1]?.block;
  }

  blockById(id: Uint8Array): Block | undefined {
    this.#open();
    const h = this.#byId.get(toHex(id));
    return h === undefined ? undefined : this.block(h);
  }

  blockId(height: number): Uint8Array | undefined {
    this.#open();
    return this.#blocks[height - 1]?.id;
  }

  putCertificate(cert: FinalityCertificate): void {
    this.#open();
    checkCertificate(this, cert);
    this.#certs.set(cert.height, cert);
    this.#final = cert.height;
  }

  certificate(height: number): FinalityCertificate | undefined {
    this.#open();
    return this.#certs.get(height);
  }

  lastFinal(): number {
    this.#open();
    return this.#final;
  }

  truncateAbove(height: number): void {
    this.#open();
    checkTruncate(this, height);
    while (this.#blocks.length > height) {
      const { block, id } = this.#blocks.pop()!;
      this.#byId.delete(toHex(id));
      for (const t of block.txs) this.#txs.delete(toHex(t.id));
      for (const [, vehicle] of grantsIn(block)) {
        const list = this.#grants.get(vehicle)!.filter((g) => g.height <= height);
        if (list.length === 0) this.#grants.delete(vehicle);
        else this.#grants.set(vehicle, list);
      }
    }
  }

  txLocation(txId: Uint8Array): TxLocation | undefined {
    this.#open();
    return this.#txs.get(toHex(txId));
  }

  grantsOfVehicle(vehicle: string): VehicleGrant[] {
    this.#open();
    return [...(this.#grants.get(vehicle) ?? [])];
  }

  close(): void {
    this.#closed = true;
  }
}
