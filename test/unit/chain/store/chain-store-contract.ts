/**
 * The ChainStore contract, run against every implementation: appending only the block that extends
 * the head, lookups by height and id, the transaction and grant indexes, certificates and the last
 * final height that never goes back, truncation that keeps final blocks, rebuilding the state, and
 * close.
 */
import { describe, expect, it } from 'vitest';
import {
  type ChainStore,
  encodeBlock,
  encodeGenesis,
  type FinalityCertificate,
  headerId,
  keyHash,
  rebuildState,
  StoreError,
  stateRoot,
  toHex,
} from '../../../../chain/index.js';
import {
  buildLightChain,
  grantActivity,
  grantParties,
  type LightChain,
  votesAt,
} from '../../../support/light-chain.js';

const activity = grantActivity({ register: 2, grant: [3, 5], revoke: 7 });
/** 10 blocks, an election at 4, a vehicle registered at 2, grants at 3 and 5, a revocation at 7. */
export const storeChain: LightChain = buildLightChain({
  producers: 4,
  electAt: [4],
  height: 10,
  roundBlocks: 4,
  extra: activity.extra,
  accounts: activity.accounts,
});
export const storeGrantIds = activity.ids;
/** Another chain of the same genesis shape but other blocks (its block 6 forks from ours). */
export const otherChain: LightChain = buildLightChain({
  producers: 4,
  electAt: [5],
  height: 10,
  roundBlocks: 4,
});

/** The certificate of block `h` of `chain`. */
export function certAt(chain: LightChain, h: number): FinalityCertificate {
  const header = chain.blocks[h]!.header.header;
  return { chainId: header.chainId, height: h, blockId: headerId(header), votes: votesAt(chain, h) };
}

const genesisSpec = storeChain.genesisSpec;

function code(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof StoreError ? e.code : `not a StoreError: ${String(e)}`;
  }
}

function fill(store: ChainStore, upTo: number): void {
  store.setGenesis(genesisSpec);
  for (let h = 1; h <= upTo; h++) store.putBlock(storeChain.blocks[h]!);
}

/** Runs the contract against stores made by `make` (a fresh, empty store each time). */
export function chainStoreContract(name: string, make: () => ChainStore): void {
  describe(`ChainStore contract: ${name}`, () => {
    it('starts empty and needs a genesis before blocks; the same genesis again is fine, another is refused', () => {
      const s = make();
      expect(s.genesis()).toBeUndefined();
      expect(s.headHeight()).toBe(0);
      expect(s.lastFinal()).toBe(0);
      expect(code(() => s.putBlock(storeChain.blocks[1]!))).toBe('NO_GENESIS');
      s.setGenesis(genesisSpec);
      expect(encodeGenesis(s.genesis()!)).toEqual(encodeGenesis(genesisSpec));
      expect(code(() => s.setGenesis(genesisSpec))).toBe('ok');
      expect(code(() => s.setGenesis({ ...genesisSpec, timeMs: genesisSpec.timeMs + 1 }))).toBe(
        'GENESIS_MISMATCH',
      );
      s.close();
    });

    it('appends only the block that extends the head and finds blocks by height and id', () => {
      const s = make();
      fill(s, 6);
      expect(s.headHeight()).toBe(6);
      for (let h = 1; h <= 6; h++) {
        const b = storeChain.blocks[h]!;
        expect(encodeBlock(s.block(h)!)).toEqual(encodeBlock(b));
        expect(s.blockId(h)).toEqual(headerId(b.header.header));
        expect(s.blockById(headerId(b.header.header))?.header.header.height).toBe(h);
      }
      expect(s.block(7)).toBeUndefined();
      expect(s.blockById(keyHash('none'))).toBeUndefined();
      expect(code(() => s.putBlock(storeChain.blocks[6]!))).toBe('NOT_NEXT');
      expect(code(() => s.putBlock(storeChain.blocks[8]!))).toBe('NOT_NEXT');
      expect(code(() => s.putBlock(otherChain.blocks[7]!))).toBe('WRONG_PARENT');
      expect(s.headHeight()).toBe(6);
      s.close();
    });

    it('indexes every transaction by id and the grants of a vehicle', () => {
      const s = make();
      fill(s, 10);
      for (let h = 1; h <= 10; h++)
        for (const [index, t] of storeChain.blocks[h]!.txs.entries())
          expect(s.txLocation(t.id)).toEqual({ height: h, index });
      expect(s.txLocation(keyHash('none'))).toBeUndefined();
      expect(s.grantsOfVehicle(grantParties.vehicle)).toEqual([
        { grant: storeGrantIds[0], height: 3 },
        { grant: storeGrantIds[1], height: 5 },
      ]);
      expect(s.grantsOfVehicle('00'.repeat(32))).toEqual([]);
      s.close();
    });

    it('stores certificates; the last final height never goes back; a certificate needs the stored block', () => {
      const s = make();
      fill(s, 8);
      s.putCertificate(certAt(storeChain, 3));
      s.putCertificate(certAt(storeChain, 6));
      expect(s.lastFinal()).toBe(6);
      expect(s.certificate(3)).toEqual(certAt(storeChain, 3));
      expect(s.certificate(4)).toBeUndefined();
      expect(code(() => s.putCertificate(certAt(storeChain, 5)))).toBe('FINAL_REGRESSION');
      expect(code(() => s.putCertificate(certAt(otherChain, 7)))).toBe('UNKNOWN_BLOCK');
      expect(code(() => s.putCertificate(certAt(storeChain, 9)))).toBe('UNKNOWN_BLOCK');
      expect(s.lastFinal()).toBe(6);
      s.close();
    });

    it('drops non-final blocks and their index entries for a fork, never a final block', () => {
      const s = make();
      fill(s, 8);
      s.putCertificate(certAt(storeChain, 4));
      expect(code(() => s.truncateAbove(3))).toBe('FINAL_BLOCK');
      s.truncateAbove(4);
      expect(s.headHeight()).toBe(4);
      expect(s.block(5)).toBeUndefined();
      expect(s.blockById(headerId(storeChain.blocks[5]!.header.header))).toBeUndefined();
      expect(s.txLocation(storeChain.blocks[5]!.txs[0]!.id)).toBeUndefined();
      expect(s.grantsOfVehicle(grantParties.vehicle).map((g) => g.height)).toEqual([3]);
      s.putBlock(storeChain.blocks[5]!);
      expect(s.grantsOfVehicle(grantParties.vehicle).map((g) => g.height)).toEqual([3, 5]);
      s.close();
    });

    it('rebuilds the state of the last final block (and of any stored height) from genesis and blocks', () => {
      const s = make();
      fill(s, 10);
      s.putCertificate(certAt(storeChain, 9));
      expect(toHex(stateRoot(rebuildState(s)))).toBe(toHex(stateRoot(storeChain.states[9]!)));
      expect(toHex(stateRoot(rebuildState(s, { height: 10, signaturesChecked: true })))).toBe(
        toHex(stateRoot(storeChain.states[10]!)),
      );
      expect(code(() => rebuildState(s, { height: 11 }))).toBe('NOT_NEXT');
      s.close();
    });

    it('refuses every call once closed', () => {
      const s = make();
      s.close();
      s.close();
      expect(code(() => s.headHeight())).toBe('CLOSED');
      expect(code(() => s.block(1))).toBe('CLOSED');
    });
  });
}
