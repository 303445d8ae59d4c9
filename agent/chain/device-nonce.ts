/**
 * The device's chain transaction counter, seeded from the chain. Every record the device signs
 * (an anchor, a fill, a control execution) carries its account's next nonce, which the store keeps
 * in the cursor `DEVICE_TX_NONCE_CURSOR` (taken in the same store transaction as the record).
 *
 * Defence (issue 14, item 13, "a device whose store was recreated numbers its chain records from 0
 * again"): a store that was moved aside as corrupt, or recreated, starts that cursor at 0 while the
 * chain's account of the device is far ahead, so its next records carry nonces the chain has used
 * and are refused, lost until the counter catches up. When the light client proves the device's
 * account record, the cursor is raised to the account's nonce (never lowered: records queued but
 * not yet on chain keep theirs) (test/unit/agent/chain/device-nonce.test.ts).
 */
import type { Account } from '../../chain/index.js';
import type { Logger } from '../../process/index.js';
import { DEVICE_TX_NONCE_CURSOR } from '../store/index.js';

/** The part of a store that holds the counter. */
export interface NonceCursorStore {
  cursor(name: string): string | undefined;
  setCursor(name: string, value: string): void;
}

/**
 * Raises the store's next device nonce to the proven account's (`height`: the final height that
 * proved it); returns the next nonce the device will sign with.
 */
export function seedDeviceNonce(
  store: NonceCursorStore,
  account: Account,
  height: number,
  logger: Logger,
): number {
  const raw = store.cursor(DEVICE_TX_NONCE_CURSOR);
  const current = raw === undefined ? 0 : Number(raw);
  if (Number.isSafeInteger(current) && current >= account.nonce) return current;
  store.setCursor(DEVICE_TX_NONCE_CURSOR, String(account.nonce));
  logger.info(
    { from: raw ?? null, to: account.nonce, height },
    "device transaction counter raised to the chain's account nonce (the store was new or behind)",
  );
  return account.nonce;
}
