/**
 * Merkle trees over 32-byte leaves (chunk hashes of a batch) with inclusion proofs, as in RFC 6962
 * §2.1 / RFC 9162 §2.1: leaves hashed as SHA-256(0x00 || leaf), inner nodes as SHA-256(0x01 || left ||
 * right), so a leaf can never be passed off as a node (the second-preimage attack on Bitcoin-style
 * trees). Odd-node rule: a level with an odd count carries its last node up unchanged (RFC 6962's
 * split at the largest power of two below n gives the same tree); nothing is duplicated, so two
 * different leaf lists never share a root (CVE-2012-2459). The empty tree's root is SHA-256("").
 */
import { CryptoError, checkLength } from './errors.js';
import { bytesEqual, sha256 } from './hash.js';

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** Hash of one leaf (the leaf is the 32-byte value itself, e.g. a chunk hash). */
export function merkleLeafHash(leaf: Uint8Array): Uint8Array {
  return sha256(LEAF, leaf);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  for (let i = 0; i < leaves.length; i++) checkLength(leaves[i]!, 32, `merkle leaf ${i}`);
}

/** The root over `leaves` (each 32 bytes). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leaves);
  if (leaves.length === 0) return sha256();
  let level = leaves.map(merkleLeafHash);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** The audit path of leaf `index`: sibling hashes from the leaf level up (RFC 9162 §2.1.3.1). */
export function merkleProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  checkLeaves(leaves);
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new CryptoError('BAD_PROOF', 'merkle proof', `index ${index} outside 0..${leaves.length - 1}`);
  const path: Uint8Array[] = [];
  let level = leaves.map(merkleLeafHash);
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 1 ? i - 1 : i + 1;
    if (sibling < level.length) path.push(level[sibling]!);
    const next: Uint8Array[] = [];
    for (let j = 0; j + 1 < level.length; j += 2) next.push(nodeHash(level[j]!, level[j + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
    i >>= 1;
  }
  return path;
}

/**
 * True when `proof` shows `leaf` at `index` in a tree of `treeSize` leaves with `root`
 * (RFC 9162 §2.1.3.2). A proof of the wrong length, index or size gives false.
 */
export function verifyMerkleProof(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (leaf.length !== 32 || root.length !== 32) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize)
    return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = merkleLeafHash(leaf);
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}
