/**
 * The records of the state, each stored under a text key in the state tree and committed by its
 * canonical encoding (positional arrays; amounts as integers of base units). Decoders exist for the
 * records a light client checks from a proof: accounts, grants and revocations.
 */
import { type CanonicalValue, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readAmount, readArray, readBool, readBytes, readText, readUint } from '../codec/fields.js';
import { toHex } from '../crypto/hash.js';

/** An account: QDT liquid, staked and unbonding; QDD; the replay nonce; the mana bar; votes. */
export interface Account {
  readonly qdt: bigint;
  readonly staked: bigint;
  /** Unbonding stake: amount and the height from which `withdraw` may release it. */
  readonly unbonding: readonly { readonly amount: bigint; readonly releaseHeight: number }[];
  readonly qdd: bigint;
  /** The nonce the account's next transaction must carry. */
  readonly nonce: number;
  /** Mana at `manaHeight` (regenerates from there, see mana.ts). */
  readonly mana: bigint;
  readonly manaHeight: number;
  /** Producers this account's stake votes for (hex addresses, sorted, at most 30). */
  readonly votes: readonly string[];
}

/** A registered block producer. Its address is its block-signing key. */
export interface Producer {
  readonly url: string;
  /** Sum of the stake of every account voting for it. */
  readonly votes: bigint;
  /** Set by double-sign evidence: out of the schedule for good. */
  readonly jailed: boolean;
}

/** A vehicle and its owner (the only account that may grant, revoke and bind devices for it). */
export interface Vehicle {
  readonly owner: string;
  /** Device keys the owner bound to the vehicle (hex); they may anchor descriptors and executions. */
  readonly devices: readonly string[];
}

/** One party's share of a sale, in basis points. */
export interface Share {
  readonly party: string;
  readonly bps: number;
}

/** A QoodShares agreement between a vehicle's owner and an OEM: data classes and revenue split. */
export interface Agreement {
  readonly vehicle: string;
  readonly owner: string;
  readonly oem: string;
  readonly version: number;
  /** Data classes: name, who owns it (0 owner, 1 OEM, 2 disputed) and privacy (0 normal, 1 private). */
  readonly classes: readonly { readonly name: string; readonly holder: number; readonly privacy: number }[];
  readonly split: readonly Share[];
}

/** A data descriptor anchored on chain: the batch Merkle root of sealed chunks. */
export interface Descriptor {
  readonly agreement: string;
  readonly merkleRoot: Uint8Array;
  readonly chunkCount: number;
  readonly dataClass: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly dictionary: string;
}

/** An order: a buyer's escrowed bid for a descriptor, or an owner's ask. */
export interface Order {
  readonly side: 'buy' | 'sell';
  readonly maker: string;
  readonly descriptor: string;
  /** Price in QDD base units; a buy order's price is held in escrow until filled or cancelled. */
  readonly price: bigint;
  readonly expiresHeight: number;
  /**
   * The seller still owes something: a fill (filledHeight 0) or the reveal of a filled order's
   * keys. False once revealed, or cancelled.
   */
  readonly open: boolean;
  /** The fill's commitment to the key bundle (fillCommitment); empty until filled. */
  readonly commitment: Uint8Array;
  /** The key bundle the reveal delivered (chain/data/key-bundle.ts); empty until revealed. */
  readonly delivery: Uint8Array;
  /** Height of the fill (the payment); 0 until filled. */
  readonly filledHeight: number;
}

/** A listen or control grant, signed into the chain by the vehicle's owner. */
export interface Grant {
  readonly vehicle: string;
  readonly grantee: string;
  readonly kind: 'listen' | 'control';
  /** Signal paths (listen) or command names (control). */
  readonly scope: readonly string[];
  readonly fromMs: number;
  readonly toMs: number;
  /** QDD paid by the grantee so far (listener payments and renewals). */
  readonly paid: bigint;
  /** Hash of the off-chain terms (rate, granularity, conditions). */
  readonly termsHash: Uint8Array;
  /** The latest end the owner signed (the grant's own end when it offered no extension). */
  readonly latestEndMs: number;
  /** QDD base units per hour of extension the owner asks (0 when it offered no extension). */
  readonly pricePerHour: bigint;
  /** The entry payment the owner's terms require, which buys no extension time (0 without terms). */
  readonly entryPaid: bigint;
  readonly revoked: boolean;
  /** Block time of the revocation, 0 while not revoked. */
  readonly revokedMs: number;
}

/** The token supply counters, for auditing that tokens are conserved. */
export interface Supply {
  /** QDT in existence (liquid + staked + unbonding); falls when fees and penalties burn it. */
  readonly qdt: bigint;
  /** QDD in existence (balances + buy escrow); moved only by issue and redeem. */
  readonly qdd: bigint;
  /** QDT burnt by fees and double-sign penalties. */
  readonly burned: bigint;
}

const hexBytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const sortedHex = (xs: readonly string[]) => xs.map(hexBytes);

/** The canonical value of a record. */
export const encodeRecord = {
  account: (a: Account): CanonicalValue => [
    a.qdt,
    a.staked,
    a.unbonding.map((u) => [u.amount, u.releaseHeight]),
    a.qdd,
    a.nonce,
    a.mana,
    a.manaHeight,
    sortedHex(a.votes),
  ],
  producer: (p: Producer): CanonicalValue => [p.url, p.votes, p.jailed],
  vehicle: (v: Vehicle): CanonicalValue => [hexBytes(v.owner), sortedHex(v.devices)],
  agreement: (a: Agreement): CanonicalValue => [
    hexBytes(a.vehicle),
    hexBytes(a.owner),
    hexBytes(a.oem),
    a.version,
    a.classes.map((c) => [c.name, c.holder, c.privacy]),
    a.split.map((s) => [hexBytes(s.party), s.bps]),
  ],
  descriptor: (d: Descriptor): CanonicalValue => [
    hexBytes(d.agreement),
    d.merkleRoot,
    d.chunkCount,
    d.dataClass,
    d.fromMs,
    d.toMs,
    d.dictionary,
  ],
  order: (o: Order): CanonicalValue => [
    o.side === 'buy' ? 0 : 1,
    hexBytes(o.maker),
    hexBytes(o.descriptor),
    o.price,
    o.expiresHeight,
    o.open,
    o.commitment,
    o.delivery,
    o.filledHeight,
  ],
  grant: (g: Grant): CanonicalValue => [
    hexBytes(g.vehicle),
    hexBytes(g.grantee),
    g.kind === 'listen' ? 0 : 1,
    g.scope as string[],
    g.fromMs,
    g.toMs,
    g.paid,
    g.termsHash,
    g.latestEndMs,
    g.pricePerHour,
    g.entryPaid,
    g.revoked,
    g.revokedMs,
  ],
  supply: (s: Supply): CanonicalValue => [s.qdt, s.qdd, s.burned],
} as const;

/** Decodes an account from its committed bytes (what a light client gets with a proof). */
export function decodeAccount(bytes: Uint8Array): Account {
  const a = readArray(decodeCanonical(bytes), 'account', 8);
  return {
    qdt: readAmount(a[0], 'account.qdt'),
    staked: readAmount(a[1], 'account.staked'),
    unbonding: readArray(a[2], 'account.unbonding').map((u, i) => {
      const x = readArray(u, `account.unbonding[${i}]`, 2);
      return { amount: readAmount(x[0], 'amount'), releaseHeight: readUint(x[1], 'releaseHeight') };
    }),
    qdd: readAmount(a[3], 'account.qdd'),
    nonce: readUint(a[4], 'account.nonce'),
    mana: readAmount(a[5], 'account.mana'),
    manaHeight: readUint(a[6], 'account.manaHeight'),
    votes: readArray(a[7], 'account.votes').map((v, i) => toHex(readBytes(v, `account.votes[${i}]`, 32))),
  };
}

/** Decodes a grant from its committed bytes. */
export function decodeGrant(bytes: Uint8Array): Grant {
  const g = readArray(decodeCanonical(bytes), 'grant', 13);
  return {
    vehicle: toHex(readBytes(g[0], 'grant.vehicle', 32)),
    grantee: toHex(readBytes(g[1], 'grant.grantee', 32)),
    kind: readUint(g[2], 'grant.kind', 1) === 0 ? 'listen' : 'control',
    scope: readArray(g[3], 'grant.scope').map((s, i) => readText(s, `grant.scope[${i}]`)),
    fromMs: readUint(g[4], 'grant.fromMs'),
    toMs: readUint(g[5], 'grant.toMs'),
    paid: readAmount(g[6], 'grant.paid'),
    termsHash: readBytes(g[7], 'grant.termsHash', 32),
    latestEndMs: readUint(g[8], 'grant.latestEndMs'),
    pricePerHour: readAmount(g[9], 'grant.pricePerHour'),
    entryPaid: readAmount(g[10], 'grant.entryPaid'),
    revoked: readBool(g[11], 'grant.revoked'),
    revokedMs: readUint(g[12], 'grant.revokedMs'),
  };
}

/** Decodes a vehicle record. */
export function decodeVehicle(bytes: Uint8Array): Vehicle {
  const v = readArray(decodeCanonical(bytes), 'vehicle', 2);
  return {
    owner: toHex(readBytes(v[0], 'vehicle.owner', 32)),
    devices: readArray(v[1], 'vehicle.devices').map((d, i) =>
      toHex(readBytes(d, `vehicle.devices[${i}]`, 32)),
    ),
  };
}

/** Decodes an agreement record. */
export function decodeAgreement(bytes: Uint8Array): Agreement {
  const a = readArray(decodeCanonical(bytes), 'agreement', 6);
  return {
    vehicle: toHex(readBytes(a[0], 'agreement.vehicle', 32)),
    owner: toHex(readBytes(a[1], 'agreement.owner', 32)),
    oem: toHex(readBytes(a[2], 'agreement.oem', 32)),
    version: readUint(a[3], 'agreement.version'),
    classes: readArray(a[4], 'agreement.classes').map((c, i) => {
      const x = readArray(c, `agreement.classes[${i}]`, 3);
      return {
        name: readText(x[0], `agreement.classes[${i}].name`),
        holder: readUint(x[1], `agreement.classes[${i}].holder`),
        privacy: readUint(x[2], `agreement.classes[${i}].privacy`),
      };
    }),
    split: readArray(a[5], 'agreement.split').map((p, i) => {
      const x = readArray(p, `agreement.split[${i}]`, 2);
      return {
        party: toHex(readBytes(x[0], `agreement.split[${i}].party`, 32)),
        bps: readUint(x[1], `agreement.split[${i}].bps`),
      };
    }),
  };
}

/** Decodes an anchored descriptor record. */
export function decodeDescriptor(bytes: Uint8Array): Descriptor {
  const d = readArray(decodeCanonical(bytes), 'descriptor', 7);
  return {
    agreement: toHex(readBytes(d[0], 'descriptor.agreement', 32)),
    merkleRoot: readBytes(d[1], 'descriptor.merkleRoot', 32),
    chunkCount: readUint(d[2], 'descriptor.chunkCount'),
    dataClass: readText(d[3], 'descriptor.dataClass'),
    fromMs: readUint(d[4], 'descriptor.fromMs'),
    toMs: readUint(d[5], 'descriptor.toMs'),
    dictionary: readText(d[6], 'descriptor.dictionary'),
  };
}

/** Decodes an order record. */
export function decodeOrder(bytes: Uint8Array): Order {
  const o = readArray(decodeCanonical(bytes), 'order', 9);
  return {
    side: readUint(o[0], 'order.side', 1) === 0 ? 'buy' : 'sell',
    maker: toHex(readBytes(o[1], 'order.maker', 32)),
    descriptor: toHex(readBytes(o[2], 'order.descriptor', 32)),
    price: readAmount(o[3], 'order.price'),
    expiresHeight: readUint(o[4], 'order.expiresHeight'),
    open: readBool(o[5], 'order.open'),
    commitment: readBytes(o[6], 'order.commitment'),
    delivery: readBytes(o[7], 'order.delivery'),
    filledHeight: readUint(o[8], 'order.filledHeight'),
  };
}

/** Bytes of a record value. */
export function recordBytes(v: CanonicalValue): Uint8Array {
  return encodeCanonical(v);
}

/** A fresh account. */
export const EMPTY_ACCOUNT: Account = {
  qdt: 0n,
  staked: 0n,
  unbonding: [],
  qdd: 0n,
  nonce: 0,
  mana: 0n,
  manaHeight: 0,
  votes: [],
};
