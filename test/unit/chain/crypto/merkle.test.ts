import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merkleProof, merkleRoot, toHex, verifyMerkleProof } from '../../../../chain/index.js';

const h = (...parts: Uint8Array[]) => {
  const x = createHash('sha256');
  for (const p of parts) x.update(p);
  return new Uint8Array(x.digest());
};
const leaf = (i: number) => h(Uint8Array.of(i & 0xff, i >> 8));

/** RFC 6962 §2.1 MTH, written from its recursive definition as an independent reference. */
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return h();
  if (d.length === 1) return h(Uint8Array.of(0), d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return h(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}

/** RFC 6962 §2.1.1 PATH(m, D[n]), the same way. */
function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

describe('Merkle trees (RFC 6962 / 9162)', () => {
  it('has the RFC 6962 root and audit path for every size up to 40 and every leaf', () => {
    for (let n = 0; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      const root = merkleRoot(leaves);
      expect(toHex(root), `n=${n}`).toBe(toHex(mth(leaves)));
      for (let i = 0; i < n; i++) {
        const p = merkleProof(leaves, i);
        expect(p.map(toHex), `n=${n} i=${i}`).toEqual(path(i, leaves).map(toHex));
        expect(verifyMerkleProof(leaves[i]!, i, n, p, root)).toBe(true);
      }
    }
  });

  it('rejects a proof for another leaf, index, size or root, and a truncated or extended proof', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), (n, pick) => {
        const leaves = Array.from({ length: n }, (_, i) => leaf(i + 1000));
        const i = pick % n;
        const root = merkleRoot(leaves);
        const p = merkleProof(leaves, i);
        const j = (i + 1) % n;
        expect(verifyMerkleProof(leaves[j]!, i, n, p, root)).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, j, n, p, root)).toBe(false);
        // (A different size may still verify when the leaf's path is the same shape: the root alone
        // commits to the leaf's position, as in RFC 9162; descriptors carry the size separately.)
        expect(verifyMerkleProof(leaves[i]!, i, i, p, root)).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, i, n, p, leaf(1))).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, i, n, p.slice(0, -1), root)).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, i, n, [...p, leaf(2)], root)).toBe(false);
        expect(verifyMerkleProof(leaves[i]!, i, n, p, root)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('does not duplicate the odd node: [a, b, c] and [a, b, c, c] have different roots', () => {
    const [a, b, c] = [leaf(1), leaf(2), leaf(3)];
    expect(toHex(merkleRoot([a, b, c]))).not.toBe(toHex(merkleRoot([a, b, c, c])));
  });

  it('refuses leaves that are not 32 bytes and indexes outside the tree', () => {
    expect(() => merkleRoot([Uint8Array.of(1)])).toThrow('merkle leaf 0: expected 32 bytes, got 1');
    expect(() => merkleProof([leaf(1)], 1)).toThrow(/index 1 outside 0..0/);
    expect(verifyMerkleProof(leaf(1), -1, 1, [], merkleRoot([leaf(1)]))).toBe(false);
  });
});
