/**
 * What the mempool admits: a transaction for this chain, signed by its sender, with a nonce not yet
 * used and not too far ahead, and (when it is the sender's next one) valid against the head state:
 * funds, mana or fee, and every rule of its kind (validateTx). Later nonces are checked in full when
 * the producer builds its block.
 */
import {
  type ChainState,
  getAccount,
  type SignatureCache,
  type SignedTx,
  validateTx,
  verify,
} from '../../chain/index.js';

/** Nonces a sender may queue ahead of its account's. */
export const MAX_NONCE_AHEAD = 64;

export type TxRejectCode = 'WRONG_CHAIN' | 'BAD_SIGNATURE' | 'NONCE_USED' | 'NONCE_TOO_FAR' | 'INVALID';

/** Why a transaction was not admitted. */
export interface TxReject {
  readonly code: TxRejectCode;
  readonly message: string;
}

/**
 * Undefined when `tx` may enter the mempool of a node whose head state is `head`. With `cache`, the
 * signature is looked up there first and, once verified, kept for block building and applying.
 */
export function checkTx(head: ChainState, tx: SignedTx, cache?: SignatureCache): TxReject | undefined {
  const t = tx.tx;
  if (t.chainId !== head.params.chainId)
    return { code: 'WRONG_CHAIN', message: `chainId '${t.chainId}', expected '${head.params.chainId}'` };
  const signed =
    cache === undefined ? verify(tx.signature, tx.id, Buffer.from(t.sender, 'hex')) : cache.verify(tx);
  if (!signed) return { code: 'BAD_SIGNATURE', message: 'signature does not verify under the sender key' };
  const nonce = getAccount(head, t.sender).nonce;
  if (t.nonce < nonce) return { code: 'NONCE_USED', message: `nonce ${t.nonce}; the account is at ${nonce}` };
  if (t.nonce > nonce + MAX_NONCE_AHEAD)
    return {
      code: 'NONCE_TOO_FAR',
      message: `nonce ${t.nonce}; the account is at ${nonce} and at most ${MAX_NONCE_AHEAD} may wait`,
    };
  if (t.nonce === nonce) {
    const r = validateTx(head, tx, undefined, { signaturesChecked: true });
    if (!r.ok) return { code: 'INVALID', message: `${r.error.code}: ${r.error.message}` };
  }
  return undefined;
}
