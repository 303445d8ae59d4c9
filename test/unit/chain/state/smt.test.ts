import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  type SmtNode,
  sha256,
  smtBuild,
  smtGet,
  smtLeaves,
  smtProve,
  smtRoot,
  smtSet,
  smtVerify,
} from '../../../../chain/index.js';

const k = (i: number) => sha256(Uint8Array.of(i >> 8, i & 0xff));
const v = (i: number) => Uint8Array.of(i, i >> 8, 7);
const build = (ids: readonly number[]) => ids.reduce<SmtNode | null>((t, i) => smtSet(t, k(i), v(i)), null);

describe('sparse Merkle tree (state commitment)', () => {
  it('has a root that depends only on the key set, not on the order of updates or deleted keys', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 60 }),
        fc.array(fc.integer({ min: 5001, max: 6000 }), { maxLength: 10 }),
        (ids, extra) => {
          const a = build(ids);
          const b = build([...ids].reverse());
          let c = build([...extra, ...ids]);
          for (const e of extra) c = smtSet(c, k(e), null);
          expect(smtRoot(a)).toEqual(smtRoot(b));
          expect(smtRoot(c)).toEqual(smtRoot(a));
          expect([...smtLeaves(a)].length).toBe(ids.length);
          expect(smtRoot(smtBuild(ids.map((i) => ({ keyHash: k(i), bytes: v(i) }))))).toEqual(smtRoot(a));
        },
      ),
      { numRuns: 150 },
    );
    expect(smtRoot(null)).toEqual(EMPTY_ROOT);
    expect(smtRoot(smtSet(build([1]), k(1), null))).toEqual(EMPTY_ROOT);
  });

  it('never changes an older tree when a newer one is made from it', () => {
    const t1 = build([1, 2, 3]);
    const r1 = smtRoot(t1);
    const t2 = smtSet(smtSet(t1, k(2), Uint8Array.of(9)), k(4), v(4));
    expect(smtRoot(t1)).toEqual(r1);
    expect(smtGet(t1, k(2))?.bytes).toEqual(v(2));
    expect(smtGet(t2, k(2))?.bytes).toEqual(Uint8Array.of(9));
    expect(smtGet(t1, k(4))).toBeUndefined();
  });

  it('proves presence and absence, and rejects wrong values, keys and roots', () => {
    const ids = Array.from({ length: 300 }, (_, i) => i * 3);
    const t = build(ids);
    const root = smtRoot(t);
    for (const i of [0, 3, 297, 600, 897]) {
      const p = smtProve(t, k(i));
      expect(smtVerify(root, k(i), v(i), p)).toBe(true);
      expect(smtVerify(root, k(i), Uint8Array.of(1), p)).toBe(false);
      expect(smtVerify(root, k(i), null, p)).toBe(false);
      expect(smtVerify(sha256(root), k(i), v(i), p)).toBe(false);
    }
    for (const absent of [1, 2, 1000, 4999]) {
      const p = smtProve(t, k(absent));
      expect(smtVerify(root, k(absent), null, p)).toBe(true);
      expect(smtVerify(root, k(absent), v(absent), p)).toBe(false);
    }
    // A proof for one key does not prove another.
    expect(smtVerify(root, k(6), v(6), smtProve(t, k(3)))).toBe(false);
    // Tampering with a sibling or the bitmap breaks it.
    const p = smtProve(t, k(30));
    const bad = { ...p, siblings: p.siblings.map((s, i) => (i === 0 ? sha256(s) : s)) };
    expect(smtVerify(root, k(30), v(30), bad)).toBe(false);
    const badMap = { ...p, bitmap: p.bitmap.map((b, i) => (i === 0 ? b ^ 0x80 : b)) };
    expect(smtVerify(root, k(30), v(30), badMap)).toBe(false);
  });

  // Building a million-key tree is CPU-bound: about 26 s on two cores shared with other test runs, so
  // the bound is generous and ends only a hung run.
  it('keeps proofs under 1 KB with a million keys (about 20 siblings)', () => {
    const N = 1_000_000;
    // Random 32-byte key hashes stand in for hashed state keys; values are account-sized.
    const pool = new Uint8Array(randomBytes(32 * N));
    const value = new Uint8Array(60);
    const entries = Array.from({ length: N }, (_, i) => ({
      keyHash: pool.subarray(32 * i, 32 * i + 32),
      bytes: value,
    }));
    const t = smtBuild(entries);
    const keys = entries.filter((_, i) => i % 100_000 === 0).map((e) => e.keyHash);
    const root = smtRoot(t);
    // A set after the bulk build lands in the same tree as building with it.
    expect(smtGet(smtSet(t, keys[0]!, Uint8Array.of(2)), keys[0]!)?.bytes).toEqual(Uint8Array.of(2));
    for (const key of keys) {
      const p = smtProve(t, key);
      expect(smtVerify(root, key, value, p)).toBe(true);
      const wire = 1 + 1 + p.bitmap.length + 2 + 34 * p.siblings.length + 2 + 68;
      expect(wire).toBeLessThan(1024);
      expect(p.siblings.length).toBeLessThan(30);
    }
  }, 300_000);
});
