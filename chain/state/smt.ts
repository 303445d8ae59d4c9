/**
 * The state commitment: a persistent, compressed sparse Merkle tree over 256-bit key hashes.
 *
 * - Keys are SHA-256 of the state key; a key's bits, most significant first, choose its path.
 * - A subtree holding exactly one leaf hashes as that leaf, SHA-256(0x00 || keyHash || valueHash),
 *   wherever it sits, so leaves hang at the depth where their prefix becomes unique (about log2 n,
 *   20 levels for a million keys) rather than at 256 (as in Diem's Jellyfish tree).
 * - A branch hashes as SHA-256(0x01 || left || right), an empty subtree as 32 zero bytes.
 * - The shape depends only on the set of keys, so equal states have equal roots whatever the
 *   order of updates; deleting a key collapses the branches it no longer needs.
 * - Updates copy the path they touch and share the rest: an old root stays valid (a state is never
 *   mutated, so `validateTx` is free to try a transaction and drop the result).
 *
 * Proofs are compressed: the depth, a bitmap of which siblings on the path are non-empty, the
 * non-empty siblings, and the leaf found at the end (absent, the key's own, or another key's for a
 * proof of absence). With a million keys that is about 20 siblings: some 700 bytes.
 */
import { bytesEqual, sha256 } from '../crypto/hash.js';

/** An immutable tree node. */
export type SmtNode = SmtLeaf | SmtBranch;

/** A key and its value; `value` is the decoded record the state layer reads back. */
export interface SmtLeaf {
  readonly kind: 'leaf';
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly bytes: Uint8Array;
  readonly value: unknown;
  readonly hash: Uint8Array;
}

interface SmtBranch {
  readonly kind: 'branch';
  readonly left: SmtNode | null;
  readonly right: SmtNode | null;
  readonly hash: Uint8Array;
}

/** The hash of an empty tree or subtree. */
export const EMPTY_ROOT = new Uint8Array(32);
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function bit(keyHash: Uint8Array, depth: number): number {
  return (keyHash[depth >> 3]! >> (7 - (depth & 7))) & 1;
}

/** The hash of a leaf for a key hash and a value hash. */
export function smtLeafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return sha256(LEAF, keyHash, valueHash);
}

function branchHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

/**
 * Hashes are computed when first read and then kept (nodes are immutable, so this is safe): the
 * many intermediate paths a block writes and overwrites are never hashed, only the final ones.
 */
class Leaf implements SmtLeaf {
  readonly kind = 'leaf';
  #vh: Uint8Array | undefined;
  #h: Uint8Array | undefined;

  constructor(
    readonly keyHash: Uint8Array,
    readonly bytes: Uint8Array,
    readonly value: unknown,
  ) {}
  get valueHash(): Uint8Array {
    if (this.#vh === undefined) this.#vh = sha256(this.bytes);
    return this.#vh;
  }
  get hash(): Uint8Array {
    if (this.#h === undefined) this.#h = smtLeafHash(this.keyHash, this.valueHash);
    return this.#h;
  }
}

class Branch implements SmtBranch {
  readonly kind = 'branch';
  #h: Uint8Array | undefined;

  constructor(
    readonly left: SmtNode | null,
    readonly right: SmtNode | null,
  ) {}
  get hash(): Uint8Array {
    if (this.#h === undefined)
      this.#h = branchHash(this.left?.hash ?? EMPTY_ROOT, this.right?.hash ?? EMPTY_ROOT);
    return this.#h;
  }
}

function makeLeaf(keyHash: Uint8Array, bytes: Uint8Array, value: unknown): SmtLeaf {
  return new Leaf(keyHash, bytes, value);
}

function makeBranch(left: SmtNode | null, right: SmtNode | null): SmtNode | null {
  if (left === null && right === null) return null;
  // A lone leaf moves up; a lone branch keeps its place (its depth is part of its keys' paths).
  if (left === null && right!.kind === 'leaf') return right;
  if (right === null && left!.kind === 'leaf') return left;
  return new Branch(left, right);
}

/** The root hash of a tree (EMPTY_ROOT for null). */
export function smtRoot(node: SmtNode | null): Uint8Array {
  return node?.hash ?? EMPTY_ROOT;
}

/** The leaf for `keyHash`, or undefined. */
export function smtGet(node: SmtNode | null, keyHash: Uint8Array): SmtLeaf | undefined {
  let n = node;
  let depth = 0;
  while (n !== null) {
    if (n.kind === 'leaf') return bytesEqual(n.keyHash, keyHash) ? n : undefined;
    n = bit(keyHash, depth) === 0 ? n.left : n.right;
    depth++;
  }
  return undefined;
}

/** A new tree with `keyHash` set to `bytes` (decoded: `value`), or removed when `bytes` is null. */
export function smtSet(
  node: SmtNode | null,
  keyHash: Uint8Array,
  bytes: Uint8Array | null,
  value?: unknown,
): SmtNode | null {
  return set(node, 0, keyHash, bytes === null ? null : makeLeaf(keyHash, bytes, value));
}

function set(node: SmtNode | null, depth: number, keyHash: Uint8Array, leaf: SmtLeaf | null): SmtNode | null {
  if (node === null) return leaf;
  if (node.kind === 'leaf') {
    if (bytesEqual(node.keyHash, keyHash)) return leaf;
    if (leaf === null) return node;
    return split(node, leaf, depth);
  }
  if (bit(keyHash, depth) === 0) return makeBranch(set(node.left, depth + 1, keyHash, leaf), node.right);
  return makeBranch(node.left, set(node.right, depth + 1, keyHash, leaf));
}

/** Two leaves under one subtree at `depth`: branches down to the first bit where their keys differ. */
function split(a: SmtLeaf, b: SmtLeaf, depth: number): SmtNode {
  const ba = bit(a.keyHash, depth);
  if (ba !== bit(b.keyHash, depth)) return ba === 0 ? makeBranch(a, b)! : makeBranch(b, a)!;
  const below = split(a, b, depth + 1);
  return ba === 0 ? new Branch(below, null) : new Branch(null, below);
}

/**
 * A tree holding `entries` at once (loading a stored state, building a big test state): the same
 * tree, hence the same root, as setting them one by one, in O(n log n) hashes. Later duplicates of a
 * key win.
 */
export function smtBuild(
  entries: readonly { readonly keyHash: Uint8Array; readonly bytes: Uint8Array; readonly value?: unknown }[],
): SmtNode | null {
  const byKey = new Map<string, SmtLeaf>();
  for (const e of entries)
    byKey.set(Buffer.from(e.keyHash).toString('hex'), makeLeaf(e.keyHash, e.bytes, e.value));
  const leaves = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, l]) => l);
  const build = (from: number, to: number, depth: number): SmtNode | null => {
    if (from === to) return null;
    if (to - from === 1) return leaves[from]!;
    let mid = from;
    while (mid < to && bit(leaves[mid]!.keyHash, depth) === 0) mid++;
    return makeBranch(build(from, mid, depth + 1), build(mid, to, depth + 1));
  };
  return build(0, leaves.length, 0);
}

/** Every leaf, in key-hash order. */
export function* smtLeaves(node: SmtNode | null): Generator<SmtLeaf> {
  if (node === null) return;
  if (node.kind === 'leaf') {
    yield node;
    return;
  }
  yield* smtLeaves(node.left);
  yield* smtLeaves(node.right);
}

/** A compressed proof of a key's value or absence. */
export interface SmtProof {
  /** Siblings from the root down, non-empty ones only; `bitmap` says which depths have one. */
  readonly siblings: readonly Uint8Array[];
  /** Bit i (MSB first) set when the sibling at depth i is non-empty; length ceil(depth / 8). */
  readonly bitmap: Uint8Array;
  /** Path length: the depth of the leaf or empty slot the key leads to. */
  readonly depth: number;
  /** The leaf found there: absent (proof of absence), or a key hash and value hash. */
  readonly leaf: { readonly keyHash: Uint8Array; readonly valueHash: Uint8Array } | null;
}

/** The proof for `keyHash` in `node`. */
export function smtProve(node: SmtNode | null, keyHash: Uint8Array): SmtProof {
  const siblings: Uint8Array[] = [];
  const flags: boolean[] = [];
  let n = node;
  let depth = 0;
  while (n !== null && n.kind === 'branch') {
    const goRight = bit(keyHash, depth) === 1;
    const sib = goRight ? n.left : n.right;
    flags.push(sib !== null);
    if (sib !== null) siblings.push(sib.hash);
    n = goRight ? n.right : n.left;
    depth++;
  }
  const bitmap = new Uint8Array(Math.ceil(depth / 8));
  flags.forEach((f, i) => {
    if (f) bitmap[i >> 3]! |= 0x80 >> (i & 7);
  });
  return {
    siblings,
    bitmap,
    depth,
    leaf: n === null ? null : { keyHash: n.keyHash, valueHash: n.valueHash },
  };
}

/**
 * Checks a proof against a root. `valueBytes` is the claimed value, or null to claim absence.
 * True only when the proof shows exactly that.
 */
export function smtVerify(
  root: Uint8Array,
  keyHash: Uint8Array,
  valueBytes: Uint8Array | null,
  proof: SmtProof,
): boolean {
  const { depth, bitmap, siblings, leaf } = proof;
  if (!Number.isInteger(depth) || depth < 0 || depth > 256 || bitmap.length !== Math.ceil(depth / 8))
    return false;
  let count = 0;
  for (let i = 0; i < depth; i++) if ((bitmap[i >> 3]! >> (7 - (i & 7))) & 1) count++;
  if (count !== siblings.length) return false;
  let h: Uint8Array;
  if (valueBytes !== null) {
    if (
      leaf === null ||
      !bytesEqual(leaf.keyHash, keyHash) ||
      !bytesEqual(leaf.valueHash, sha256(valueBytes))
    )
      return false;
    h = smtLeafHash(keyHash, leaf.valueHash);
  } else if (leaf === null) {
    h = EMPTY_ROOT;
  } else {
    // Absence shown by another key's leaf occupying the slot the key leads to.
    if (bytesEqual(leaf.keyHash, keyHash)) return false;
    for (let i = 0; i < depth; i++) if (bit(leaf.keyHash, i) !== bit(keyHash, i)) return false;
    h = smtLeafHash(leaf.keyHash, leaf.valueHash);
  }
  if (leaf !== null && depth > 0 && siblings.length === 0) return false; // a lone leaf would sit higher
  let s = siblings.length;
  for (let i = depth - 1; i >= 0; i--) {
    const present = (bitmap[i >> 3]! >> (7 - (i & 7))) & 1;
    const sib = present ? siblings[--s]! : EMPTY_ROOT;
    if (sib.length !== 32) return false;
    h = bit(keyHash, i) === 1 ? branchHash(sib, h) : branchHash(h, sib);
  }
  return bytesEqual(h, root);
}
