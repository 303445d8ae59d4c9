/**
 * The state transition: `validateTx` (never mutates), `applyTx` into a draft, and the envelope rules
 * every transaction shares: chain id, signature, nonce, and mana or fee.
 */
import { verify } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { TxError } from '../tx/errors.js';
import type { SignedTx } from '../tx/types.js';
import * as market from './apply-market.js';
import type { TxContext } from './apply-tokens.js';
import * as tokens from './apply-tokens.js';
import { currentMana, nextFreeTxHeight } from './mana.js';
import { type ChainState, Draft } from './state.js';

/**
 * How far past an account's nonce a transaction may jump. Nonces must only rise: a transaction
 * with nonce n >= the account's sets it to n + 1, so a refused transaction (a device's record of a
 * command under a grant the chain never saw, say) leaves a gap instead of blocking every later one,
 * and a replay still fails. The bound keeps an account from being pushed to the end of the range.
 */
export const MAX_NONCE_GAP = 65_536;

/** Options for applying: signatures already checked (e.g. by a worker pool) are not checked again. */
export interface ApplyOptions {
  /** Every signature was checked by the caller: none is verified here. */
  readonly signaturesChecked?: boolean;
  /**
   * True for a transaction whose signature the caller already verified (a node's SignatureCache);
   * the others are verified here. The hook must not change state: applying stays a function of
   * its inputs.
   */
  readonly isVerified?: (tx: SignedTx) => boolean;
}

/** The result of validating a transaction. */
export type TxResult = { readonly ok: true } | { readonly ok: false; readonly error: TxError };

/** Applies one transaction to a draft; throws TxError (the draft must then be dropped). */
export function applyTx(d: Draft, s: SignedTx, ctx: TxContext, opts: ApplyOptions = {}): void {
  const { tx } = s;
  const params = d.base.params;
  if (tx.chainId !== params.chainId)
    throw new TxError('WRONG_CHAIN', 'chainId', `'${tx.chainId}', expected '${params.chainId}'`);
  if (
    !opts.signaturesChecked &&
    opts.isVerified?.(s) !== true &&
    !verify(s.signature, s.id, Buffer.from(tx.sender, 'hex'))
  )
    throw new TxError('BAD_SIGNATURE', 'signature', 'does not verify under the sender key');
  const acct = d.account(tx.sender);
  if (tx.nonce < acct.nonce)
    throw new TxError('BAD_NONCE', 'nonce', `${tx.nonce} was used; the account is at ${acct.nonce}`);
  if (tx.nonce > acct.nonce + MAX_NONCE_GAP)
    throw new TxError('BAD_NONCE', 'nonce', `${tx.nonce} is more than ${MAX_NONCE_GAP} past ${acct.nonce}`);
  const mana = currentMana(acct, ctx.height, params);
  if (mana >= params.manaPerTx) {
    d.setAccount(tx.sender, {
      ...acct,
      nonce: tx.nonce + 1,
      mana: mana - params.manaPerTx,
      manaHeight: ctx.height,
    });
  } else {
    if (tx.fee < params.minFee) {
      const next = nextFreeTxHeight(acct, ctx.height, params);
      throw new TxError(
        'INSUFFICIENT_MANA',
        'fee',
        `mana ${mana} < ${params.manaPerTx} and fee ${tx.fee} < ${params.minFee}; ${next === undefined ? 'the balance is too small for free transactions' : `free again at height ${next}`}`,
      );
    }
    if (acct.qdt < tx.fee)
      throw new TxError('INSUFFICIENT_FUNDS', 'fee', `has ${acct.qdt} QDT units for a fee of ${tx.fee}`);
    d.setAccount(tx.sender, {
      ...acct,
      nonce: tx.nonce + 1,
      qdt: acct.qdt - tx.fee,
      mana,
      manaHeight: ctx.height,
    });
    const sup = d.supply();
    d.setSupply({ ...sup, qdt: sup.qdt - tx.fee, burned: sup.burned + tx.fee });
  }
  const from = tx.sender;
  const id = toHex(s.id);
  switch (tx.kind) {
    case 'transfer':
      tokens.applyTransfer(d, from, tx.body, ctx);
      break;
    case 'issue':
      tokens.applyIssue(d, from, tx.body);
      break;
    case 'redeem':
      tokens.applyRedeem(d, from, tx.body);
      break;
    case 'stake':
      tokens.applyStake(d, from, tx.body);
      break;
    case 'unstake':
      tokens.applyUnstake(d, from, tx.body, ctx);
      break;
    case 'withdraw':
      tokens.applyWithdraw(d, from, ctx);
      break;
    case 'registerProducer':
      tokens.applyRegisterProducer(d, from, tx.body);
      break;
    case 'vote':
      tokens.applyVote(d, from, tx.body);
      break;
    case 'doubleSign':
      tokens.applyDoubleSign(d, tx.body);
      break;
    case 'registerVehicle':
      market.applyRegisterVehicle(d, from, tx.body);
      break;
    case 'bindDevice':
      market.applyBindDevice(d, from, tx.body);
      break;
    case 'agreement':
      market.applyAgreement(d, from, tx.body);
      break;
    case 'descriptor':
      market.applyDescriptor(d, from, tx.body, id);
      break;
    case 'order':
      market.applyOrder(d, from, tx.body, id, ctx);
      break;
    case 'cancelOrder':
      market.applyCancelOrder(d, from, tx.body, ctx);
      break;
    case 'fill':
      market.applyFill(d, from, tx.body, ctx);
      break;
    case 'reveal':
      market.applyReveal(d, from, tx.body, ctx);
      break;
    case 'grant':
      market.applyGrant(d, from, tx.body, id);
      break;
    case 'revoke':
      market.applyRevoke(d, from, tx.body, ctx);
      break;
    case 'controlExec':
      market.applyControlExec(d, from, tx.body, id, ctx);
      break;
    case 'listenerPay':
      market.applyListenerPay(d, from, tx.body);
      break;
  }
}

/**
 * Whether `tx` would apply to `state` in the next block (height + 1 at `ctx.timeMs` unless given).
 * Never mutates `state`.
 */
export function validateTx(
  state: ChainState,
  tx: SignedTx,
  ctx?: Partial<TxContext>,
  opts?: ApplyOptions,
): TxResult {
  const c = { height: ctx?.height ?? state.height + 1, timeMs: ctx?.timeMs ?? state.timeMs };
  try {
    applyTx(new Draft(state), tx, c, opts);
    return { ok: true };
  } catch (e) {
    if (e instanceof TxError) return { ok: false, error: e };
    throw e;
  }
}
