/**
 * State proofs for light clients: the committed bytes of any state key (or its absence) with a
 * compressed sparse Merkle proof against the state root in a header, and the proof's size on the wire.
 */
import { encodeCanonical } from '../codec/canonical.js';
import { type SmtProof, smtGet, smtProve } from './smt.js';
import { type ChainState, keyHash } from './state.js';

/** A key's committed bytes (null when absent) and the proof; `wireBytes` is its encoded size. */
export interface KeyProof {
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly proof: SmtProof;
  readonly wireBytes: number;
}

/** Proves the value or absence of `key` in `state` (check with smtVerify(stateRoot, keyHash(key), value, proof)). */
export function proveKey(state: ChainState, key: string): KeyProof {
  const kh = keyHash(key);
  const leaf = smtGet(state.tree, kh);
  const proof = smtProve(state.tree, kh);
  const wire = encodeCanonical([
    proof.depth,
    proof.bitmap,
    [...proof.siblings],
    proof.leaf === null ? null : [proof.leaf.keyHash, proof.leaf.valueHash],
  ]);
  return { key, value: leaf?.bytes ?? null, proof, wireBytes: wire.length };
}
