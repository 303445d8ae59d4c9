import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeCanonical,
  encodeCanonical,
  fromHex,
  unwrapKey,
  verify,
  verifyMerkleProof,
  verifyNoble,
  x25519SecretFromEd25519,
} from '../../../chain/index.js';
import { generateChainVectors } from '../../vectors/generate-chain.js';

const file = join(import.meta.dirname, '..', '..', 'vectors', 'chain-crypto.json');
const pinned = JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof generateChainVectors> & {
  canonical: { name: string; hex: string }[];
  ed25519: { public: string; message: string; signature: string }[];
  wrap: { buyerEd25519Secret: string; dataKey: string; context: string; wrapped: string };
  merkle: {
    leaves: string[];
    roots: { size: number; root: string }[];
    proofs: { size: number; index: number; proof: string[] }[];
  };
};

describe('chain crypto vectors (test/vectors/chain-crypto.json)', () => {
  it('are exactly what the code produces today (a change here is a protocol change)', () => {
    expect(JSON.parse(JSON.stringify(generateChainVectors()))).toEqual(pinned);
  });

  it('hold independently: canonical bytes round-trip, signatures verify with both verifiers, the wrap opens, proofs check', () => {
    for (const c of pinned.canonical)
      expect(Buffer.from(encodeCanonical(decodeCanonical(fromHex(c.hex)))).toString('hex')).toBe(c.hex);
    for (const v of pinned.ed25519) {
      expect(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.public))).toBe(true);
      expect(verifyNoble(fromHex(v.signature), fromHex(v.message), fromHex(v.public))).toBe(true);
    }
    const w = pinned.wrap;
    expect(
      unwrapKey(
        fromHex(w.wrapped),
        x25519SecretFromEd25519(fromHex(w.buyerEd25519Secret)),
        fromHex(w.context),
      ),
    ).toEqual(fromHex(w.dataKey));
    const root7 = fromHex(pinned.merkle.roots.find((r) => r.size === 7)!.root);
    for (const p of pinned.merkle.proofs)
      expect(
        verifyMerkleProof(
          fromHex(pinned.merkle.leaves[p.index]!),
          p.index,
          p.size,
          p.proof.map(fromHex),
          root7,
        ),
      ).toBe(true);
  });
});
