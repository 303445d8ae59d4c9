/**
 * The coin-age allowance ("mana"), after Steem/Hive resource credits: an account's bar holds up to
 * its QDT (liquid + staked + unbonding, in base units) and refills linearly from empty to full over
 * `manaRegenBlocks`, so the refill rate grows with both balance and time held. Each transaction spends
 * `manaPerTx`; with too little mana a transaction pays `minFee` instead. Integer math only; block
 * height is the clock.
 */

import type { ChainParams } from './params.js';
import type { Account } from './records.js';

/** The bar's size: every QDT the account holds. */
export function maxMana(a: Account): bigint {
  let m = a.qdt + a.staked;
  for (const u of a.unbonding) m += u.amount;
  return m;
}

/** Mana at `height` (never negative, never above the bar). */
export function currentMana(a: Account, height: number, params: ChainParams): bigint {
  const max = maxMana(a);
  const elapsed = BigInt(Math.max(0, height - a.manaHeight));
  const regen = (max * elapsed) / BigInt(params.manaRegenBlocks);
  const m = a.mana + regen;
  return m > max ? max : m < 0n ? 0n : m;
}

/**
 * The first height at or after `height` at which the account can send a transaction without a fee,
 * or undefined when its bar is too small to ever hold `manaPerTx` (it must pay fees or acquire QDT).
 */
export function nextFreeTxHeight(a: Account, height: number, params: ChainParams): number | undefined {
  const max = maxMana(a);
  if (max < params.manaPerTx) return undefined;
  const now = currentMana(a, height, params);
  if (now >= params.manaPerTx) return height;
  // Mana at h is min(max, a.mana + max*(h - manaHeight)/regen); solve for the smallest h.
  const need = params.manaPerTx - a.mana;
  const regen = BigInt(params.manaRegenBlocks);
  const blocks = (need * regen + max - 1n) / max;
  return Math.max(height, a.manaHeight + Number(blocks));
}
