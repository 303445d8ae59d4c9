/**
 * Double-sign detection: the first signed header seen per producer and height; a second, different
 * one whose signature verifies (as the first's must) is evidence, turned into a doubleSign
 * transaction that the state machine checks again and penalises (chain/state/apply-tokens.ts).
 */
import type { Ed25519Signer } from '../crypto/ed25519.js';
import { verify } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../crypto/hash.js';
import type { ChainState } from '../state/state.js';
import { getAccount } from '../state/state.js';
import { signTx } from '../tx/codec.js';
import { headerId, type SignedHeader, signedHeaderValue } from '../tx/header.js';
import type { SignedTx } from '../tx/types.js';
import type { Evidence } from './messages.js';

/** Headers kept for detection; the oldest go first. */
const MAX_HEADERS = 20_000;

/** Watches headers for a producer signing two at one height. */
export class HeaderWatch {
  readonly #first = new Map<string, SignedHeader>();
  readonly #reported = new Set<string>();

  /** Looks at a header with id `id`; returns evidence the first time a producer is caught at a height. */
  observe(sh: SignedHeader, id: Uint8Array): Extract<Evidence, { kind: 'doubleSign' }> | undefined {
    const key = `${sh.header.producer}/${sh.header.height}`;
    const first = this.#first.get(key);
    if (first === undefined) {
      this.#first.set(key, sh);
      if (this.#first.size > MAX_HEADERS) this.#first.delete(this.#first.keys().next().value!);
      return undefined;
    }
    const firstId = headerId(first.header);
    if (bytesEqual(firstId, id) || this.#reported.has(key)) return undefined;
    // Signatures are checked only now, when two headers collide: rare, and forgeries are dropped.
    const pub = Buffer.from(sh.header.producer, 'hex');
    if (!verify(sh.signature, id, pub)) return undefined;
    if (!verify(first.signature, firstId, pub)) {
      this.#first.set(key, sh);
      return undefined;
    }
    this.#reported.add(key);
    return { kind: 'doubleSign', producer: sh.header.producer, height: sh.header.height, a: first, b: sh };
  }
}

/** A doubleSign transaction from `signer`, with the nonce after its transactions already pending. */
export function doubleSignTx(
  signer: Ed25519Signer,
  state: ChainState,
  pendingFromSigner: number,
  a: SignedHeader,
  b: SignedHeader,
): SignedTx {
  const sender = toHex(signer.publicKey);
  return signTx(
    {
      chainId: state.params.chainId,
      kind: 'doubleSign',
      sender,
      nonce: getAccount(state, sender).nonce + pendingFromSigner,
      fee: state.params.minFee,
      body: { a: signedHeaderValue(a), b: signedHeaderValue(b) },
    },
    signer,
  );
}
