/**
 * Transactions: an envelope (chain, kind, sender, nonce, fee) around a kind-specific body, signed by
 * the sender. Bytes: canonical CBOR of
 *   unsigned = [1, chainId, kind, sender, nonce, fee, body]      signed = [unsigned, signature]
 * The id is taggedHash('qood/tx/v1', unsigned bytes) and the signature is over the id. Addresses are
 * 32-byte ed25519 public keys, carried as hex strings in memory.
 */
import type { CanonicalValue } from '../codec/canonical.js';

/** Transaction kinds and their wire numbers. */
export const TX_KINDS = {
  transfer: 0,
  issue: 1,
  redeem: 2,
  stake: 3,
  unstake: 4,
  withdraw: 5,
  registerProducer: 6,
  vote: 7,
  doubleSign: 8,
  registerVehicle: 9,
  bindDevice: 10,
  agreement: 11,
  descriptor: 12,
  order: 13,
  cancelOrder: 14,
  fill: 15,
  grant: 16,
  revoke: 17,
  controlExec: 18,
  listenerPay: 19,
  reveal: 20,
} as const;

export type TxKind = keyof typeof TX_KINDS;

/** Tokens a transfer may move. */
export const TOKENS = { QDT: 0, QDD: 1 } as const;
export type Token = keyof typeof TOKENS;

/** Terms both the owner and the OEM sign (see agreementTermsHash). */
export interface AgreementTerms {
  readonly vehicle: string;
  readonly owner: string;
  readonly oem: string;
  readonly version: number;
  readonly classes: readonly { readonly name: string; readonly holder: number; readonly privacy: number }[];
  readonly split: readonly { readonly party: string; readonly bps: number }[];
}

/**
 * What the owner signs into a listen grant about extending it (issue 14, attack 3): the grantee may
 * move the end later with `listenerPay`, up to `latestEndMs`, paying at least `pricePerHour` QDD
 * base units per hour added (rounded up to the millisecond), after `entryPaid`, the entry payment
 * the grant's terms require before any data flows, which buys no time. A grant without it cannot be
 * extended.
 */
export interface GrantExtension {
  readonly pricePerHour: bigint;
  readonly latestEndMs: number;
  readonly entryPaid: bigint;
}

/** Every body, keyed by kind. Amounts are base units (bigint); times are ms since the epoch. */
export interface TxBodies {
  transfer: { to: string; token: Token; amount: bigint; memo: Uint8Array };
  issue: { to: string; amount: bigint };
  redeem: { amount: bigint };
  stake: { amount: bigint };
  unstake: { amount: bigint };
  withdraw: Record<string, never>;
  registerProducer: { url: string };
  vote: { producers: readonly string[] };
  /** Two headers signed by one producer at one height: the evidence a double-sign penalty needs. */
  doubleSign: { a: CanonicalValue; b: CanonicalValue };
  registerVehicle: { vehicle: string };
  bindDevice: { vehicle: string; device: string };
  agreement: { terms: AgreementTerms; ownerSignature: Uint8Array; oemSignature: Uint8Array };
  descriptor: {
    agreement: string;
    merkleRoot: Uint8Array;
    chunkCount: number;
    dataClass: string;
    fromMs: number;
    toMs: number;
    dictionary: string;
  };
  order: { side: 'buy' | 'sell'; descriptor: string; price: bigint; expiresHeight: number };
  cancelOrder: { order: string };
  /**
   * The seller fills a buy order: it commits to the key bundle it will reveal (fillCommitment of
   * the wrapped bundle, 32 bytes) and the escrow pays the agreement's parties. No key travels.
   */
  fill: { order: string; commitment: Uint8Array };
  /**
   * After the fill is final the seller reveals the keys wrapped to the buyer: the key bundle
   * (chain/data/key-bundle.ts, at most MAX_KEY_BUNDLE_BYTES) whose commitment the fill carries.
   */
  reveal: { order: string; wrappedKey: Uint8Array };
  grant: {
    vehicle: string;
    grantee: string;
    kind: 'listen' | 'control';
    scope: readonly string[];
    fromMs: number;
    toMs: number;
    termsHash: Uint8Array;
    /** The owner's extension terms; absent (encoded as a 7-item body): the end is fixed. */
    extension?: GrantExtension;
  };
  revoke: { grant: string };
  /** A device records one executed command under a control grant. */
  controlExec: { grant: string; command: string; argsHash: Uint8Array; resultCode: number };
  /**
   * The grantee pays the owner for a listen grant, optionally extending it to `extendToMs` (within
   * the grant's extension terms; an `extendToMs` not after the current end extends nothing).
   */
  listenerPay: { grant: string; amount: bigint; extendToMs: number };
}

/** A transaction before signing. */
export type UnsignedTx = {
  [K in TxKind]: {
    readonly chainId: string;
    readonly kind: K;
    readonly sender: string;
    readonly nonce: number;
    /** QDT base units offered as a fee (burnt); needed only when the sender's mana is short. */
    readonly fee: bigint;
    readonly body: TxBodies[K];
  };
}[TxKind];

/** A signed transaction with its id. */
export interface SignedTx {
  readonly tx: UnsignedTx;
  readonly signature: Uint8Array;
  /** taggedHash('qood/tx/v1', canonical bytes of the unsigned transaction). */
  readonly id: Uint8Array;
}
