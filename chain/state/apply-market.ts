/**
 * Transaction rules for the market's records: vehicles and their devices, QoodShares agreements,
 * data descriptors, orders, fills and reveals (payment split by the agreement, then the wrapped key
 * delivered), listen and control grants, revocations, control executions and listener payments.
 *
 * A sale is commit-then-reveal (issue 14: a storage node colluding with a buyer could read the key
 * bundle from a fill still travelling in gossip and withhold the fill until the order expired, so
 * the buyer got the keys and the escrow back):
 *
 *   1. `order` (buyer): escrows the price; the escrow is locked until `expiresHeight`.
 *   2. `fill` (owner or bound device): carries only `commitment` = fillCommitment(orderId, wrapped
 *      bundle), a hash that opens nothing. Applying it pays the agreement's parties from the escrow
 *      at once; the order stays `open` (keys owed) and can no longer be cancelled or filled again.
 *   3. `reveal` (owner or bound device), in a later block: the wrapped bundle, accepted only if it
 *      hashes to the commitment; it lands in the order record (`delivery`) and closes the order.
 *
 * The device sends the reveal only once its light client has proven the fill in a final block
 * (agent/chain/order-desk.ts), so by the time any key is outside the device the payment is final
 * and irrevocable: withholding the fill yields no keys, and withholding the reveal yields no refund.
 */
import { encodeCanonical } from '../codec/canonical.js';
import { verify } from '../crypto/ed25519.js';
import { bytesEqual, taggedHash, toHex } from '../crypto/hash.js';
import { fillCommitment } from '../data/key-bundle.js';
import { agreementTermsHash } from '../tx/codec.js';
import { TxError } from '../tx/errors.js';
import type { TxBodies } from '../tx/types.js';
import type { TxContext } from './apply-tokens.js';
import type { Agreement, Grant, Order, Vehicle } from './records.js';
import type { Draft } from './state.js';

/** Bytes a wrap adds to what it wraps (ephemeral key and tag). */
const WRAP_OVERHEAD = 48;
/** Most devices one vehicle may have bound. */
export const MAX_DEVICES = 16;
const hexBytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** The id of the agreement between a vehicle's owner and an OEM (stable across versions). */
export function agreementId(vehicle: string, owner: string, oem: string): string {
  return toHex(
    taggedHash('qood/agreement-id/v1', encodeCanonical([hexBytes(vehicle), hexBytes(owner), hexBytes(oem)])),
  );
}

function vehicleOf(d: Draft, id: string, field: string): Vehicle {
  const v = d.vehicle(id);
  if (v === undefined) throw new TxError('UNKNOWN', field, `no vehicle ${id.slice(0, 16)}...`);
  return v;
}

function agreementOf(d: Draft, id: string, field: string): Agreement {
  const a = d.agreement(id);
  if (a === undefined) throw new TxError('UNKNOWN', field, `no agreement ${id.slice(0, 16)}...`);
  return a;
}

function grantOf(d: Draft, id: string): Grant {
  const g = d.grant(id);
  if (g === undefined) throw new TxError('UNKNOWN', 'body.grant', `no grant ${id.slice(0, 16)}...`);
  return g;
}

export function applyRegisterVehicle(d: Draft, sender: string, b: TxBodies['registerVehicle']): void {
  if (d.vehicle(b.vehicle) !== undefined)
    throw new TxError('DUPLICATE', 'body.vehicle', 'vehicle already registered');
  d.setVehicle(b.vehicle, { owner: sender, devices: [] });
}

export function applyBindDevice(d: Draft, sender: string, b: TxBodies['bindDevice']): void {
  const v = vehicleOf(d, b.vehicle, 'body.vehicle');
  if (v.owner !== sender) throw new TxError('NOT_OWNER', 'sender', 'only the vehicle owner may bind devices');
  if (v.devices.includes(b.device)) throw new TxError('DUPLICATE', 'body.device', 'device already bound');
  if (v.devices.length >= MAX_DEVICES)
    throw new TxError('LIMIT', 'body.device', `at most ${MAX_DEVICES} devices`);
  d.setVehicle(b.vehicle, { ...v, devices: [...v.devices, b.device].sort() });
}

export function applyAgreement(d: Draft, sender: string, b: TxBodies['agreement']): void {
  const t = b.terms;
  const v = vehicleOf(d, t.vehicle, 'body.terms.vehicle');
  if (v.owner !== t.owner) throw new TxError('NOT_OWNER', 'body.terms.owner', 'is not the vehicle owner');
  if (t.owner === t.oem) throw new TxError('MALFORMED', 'body.terms.oem', 'must differ from the owner');
  if (sender !== t.owner && sender !== t.oem)
    throw new TxError('NOT_PARTY', 'sender', 'only the owner or the OEM may submit their agreement');
  if (t.split.length === 0 || t.split.reduce((s, x) => s + x.bps, 0) !== 10_000)
    throw new TxError('MALFORMED', 'body.terms.split', 'shares must sum to 10000 basis points');
  const names = new Set(t.classes.map((c) => c.name));
  if (names.size !== t.classes.length || names.size === 0)
    throw new TxError('MALFORMED', 'body.terms.classes', 'class names must be present and unique');
  const h = agreementTermsHash(t);
  if (!verify(b.ownerSignature, h, hexBytes(t.owner)))
    throw new TxError(
      'BAD_SIGNATURE',
      'body.ownerSignature',
      "the owner's signature over the terms is missing or wrong",
    );
  if (!verify(b.oemSignature, h, hexBytes(t.oem)))
    throw new TxError(
      'BAD_SIGNATURE',
      'body.oemSignature',
      "the OEM's signature over the terms is missing or wrong",
    );
  const id = agreementId(t.vehicle, t.owner, t.oem);
  const expected = (d.agreement(id)?.version ?? 0) + 1;
  if (t.version !== expected)
    throw new TxError('MALFORMED', 'body.terms.version', `expected version ${expected}`);
  d.setAgreement(id, {
    vehicle: t.vehicle,
    owner: t.owner,
    oem: t.oem,
    version: t.version,
    classes: t.classes,
    split: t.split,
  });
}

export function applyDescriptor(d: Draft, sender: string, b: TxBodies['descriptor'], txId: string): void {
  const a = agreementOf(d, b.agreement, 'body.agreement');
  const v = vehicleOf(d, a.vehicle, 'agreement.vehicle');
  if (sender !== a.owner && !v.devices.includes(sender))
    throw new TxError(
      'NOT_OWNER',
      'sender',
      'only the owner or a device bound to the vehicle may anchor data',
    );
  if (!a.classes.some((c) => c.name === b.dataClass))
    throw new TxError('OUT_OF_SCOPE', 'body.dataClass', `'${b.dataClass}' is not a class of the agreement`);
  if (b.chunkCount === 0 || b.fromMs > b.toMs)
    throw new TxError('MALFORMED', 'body', 'needs at least one chunk and fromMs <= toMs');
  d.setDescriptor(txId, { ...b });
}

export function applyOrder(
  d: Draft,
  sender: string,
  b: TxBodies['order'],
  txId: string,
  ctx: TxContext,
): void {
  const desc = d.descriptor(b.descriptor);
  if (desc === undefined) throw new TxError('UNKNOWN', 'body.descriptor', 'no such descriptor');
  if (b.expiresHeight <= ctx.height)
    throw new TxError('EXPIRED', 'body.expiresHeight', `not after height ${ctx.height}`);
  if (b.price <= 0n) throw new TxError('MALFORMED', 'body.price', 'must be greater than zero');
  if (b.side === 'buy') {
    const a = d.account(sender);
    if (a.qdd < b.price)
      throw new TxError('INSUFFICIENT_FUNDS', 'body.price', `has ${a.qdd} QDD units to escrow`);
    d.setAccount(sender, { ...a, qdd: a.qdd - b.price });
  } else if (agreementOf(d, desc.agreement, 'descriptor.agreement').owner !== sender) {
    throw new TxError('NOT_OWNER', 'sender', 'only the data owner may offer it for sale');
  }
  d.setOrder(txId, {
    side: b.side,
    maker: sender,
    descriptor: b.descriptor,
    price: b.price,
    expiresHeight: b.expiresHeight,
    open: true,
    commitment: new Uint8Array(0),
    delivery: new Uint8Array(0),
    filledHeight: 0,
  });
}

export function applyCancelOrder(d: Draft, sender: string, b: TxBodies['cancelOrder'], ctx: TxContext): void {
  const o = d.order(b.order);
  if (o === undefined) throw new TxError('UNKNOWN', 'body.order', 'no such order');
  if (o.maker !== sender) throw new TxError('NOT_OWNER', 'sender', 'only the maker may cancel an order');
  if (!o.open || o.filledHeight > 0)
    throw new TxError('CLOSED', 'body.order', 'order already filled or cancelled');
  // A buy order's escrow stays locked until the order expires: a seller who delivers the keys in
  // time is paid, and a buyer cannot take them from a pending fill and cancel under it.
  if (o.side === 'buy' && ctx.height <= o.expiresHeight)
    throw new TxError(
      'LOCKED',
      'body.order',
      `a buy order's escrow is locked until height ${o.expiresHeight}`,
    );
  if (o.side === 'buy') {
    const a = d.account(sender);
    d.setAccount(sender, { ...a, qdd: a.qdd + o.price });
  }
  d.setOrder(b.order, { ...o, open: false });
}

export function applyFill(d: Draft, sender: string, b: TxBodies['fill'], ctx: TxContext): void {
  const o = d.order(b.order);
  if (o === undefined || o.side !== 'buy')
    throw new TxError('UNKNOWN', 'body.order', 'no matching buy order to fill');
  if (!o.open || o.filledHeight > 0)
    throw new TxError('CLOSED', 'body.order', 'order already filled or cancelled');
  if (o.expiresHeight < ctx.height)
    throw new TxError('EXPIRED', 'body.order', `expired at height ${o.expiresHeight}`);
  if (b.commitment.length !== 32)
    throw new TxError('MALFORMED', 'body.commitment', 'a commitment is 32 bytes');
  const agreement = sellerAgreement(d, o, sender);
  // Each party gets floor(price * bps / 10000); the rounding remainder goes to the first party.
  const shares = agreement.split.map((s) => (o.price * BigInt(s.bps)) / 10_000n);
  shares[0] = shares[0]! + o.price - shares.reduce((x, y) => x + y, 0n);
  agreement.split.forEach((s, i) => {
    const acct = d.account(s.party);
    d.setAccount(s.party, { ...acct, qdd: acct.qdd + shares[i]! });
  });
  // Paid now, keys later: the order stays open until the reveal (see the top of this file).
  d.setOrder(b.order, { ...o, commitment: b.commitment, filledHeight: ctx.height });
}

/** The agreement of a buy order's descriptor, when `sender` may sell under it (owner or bound device). */
function sellerAgreement(d: Draft, o: Order, sender: string): Agreement {
  const agreement = agreementOf(d, d.descriptor(o.descriptor)!.agreement, 'descriptor.agreement');
  // The owner, or a device bound to the vehicle (it holds the data root), delivers the keys.
  if (
    agreement.owner !== sender &&
    !vehicleOf(d, agreement.vehicle, 'agreement.vehicle').devices.includes(sender)
  )
    throw new TxError(
      'NOT_OWNER',
      'sender',
      'only the data owner or a device bound to the vehicle may fill and deliver keys',
    );
  return agreement;
}

export function applyReveal(d: Draft, sender: string, b: TxBodies['reveal'], ctx: TxContext): void {
  const o = d.order(b.order);
  if (o === undefined || o.side !== 'buy') throw new TxError('UNKNOWN', 'body.order', 'no such buy order');
  if (o.filledHeight === 0 || ctx.height <= o.filledHeight)
    throw new TxError('NOT_YET', 'body.order', 'the keys are revealed in a block after the fill');
  if (!o.open) throw new TxError('CLOSED', 'body.order', 'the keys were revealed already');
  sellerAgreement(d, o, sender);
  if (b.wrappedKey.length <= WRAP_OVERHEAD)
    throw new TxError(
      'MALFORMED',
      'body.wrappedKey',
      `a wrapped key bundle is longer than ${WRAP_OVERHEAD} bytes`,
    );
  // The seller cannot swap the bundle after being paid: it must be the one the fill committed to.
  if (!bytesEqual(fillCommitment(hexBytes(b.order), b.wrappedKey), o.commitment))
    throw new TxError('MALFORMED', 'body.wrappedKey', "does not match the fill's commitment");
  d.setOrder(b.order, { ...o, open: false, delivery: b.wrappedKey });
}

const HOUR_MS = 3_600_000n;

/**
 * QDD base units an extension of a listen grant from `fromMs` to `toMs` costs at `pricePerHour`,
 * rounded up (an extension is never cheaper than the owner's price). 0 when toMs <= fromMs.
 */
export function extensionCost(pricePerHour: bigint, fromMs: number, toMs: number): bigint {
  if (toMs <= fromMs) return 0n;
  return (pricePerHour * BigInt(toMs - fromMs) + HOUR_MS - 1n) / HOUR_MS;
}

/**
 * The latest end of a listen grant that its owner-signed terms allow for `paid` base units paid in
 * total: the signed end plus the time bought by what was paid beyond `entryPaid` (the entry payment
 * the grant's terms require before any data flows, which buys no time), at the price, never past
 * the latest end. The device uses it to clamp what a chain record claims
 * (agent/permissions/grant-registry.ts). The chain charges each extension its own `extensionCost`
 * plus what is still due of the entry payment the owner signed into the grant (applyListenerPay),
 * which keeps its record within this end.
 */
export function paidEndMs(
  grant: { readonly toMs: number; readonly extension?: { pricePerHour: bigint; latestEndMs: number } },
  paid: bigint,
  entryPaid = 0n,
): number {
  const x = grant.extension;
  if (x === undefined || x.latestEndMs <= grant.toMs) return grant.toMs;
  if (x.pricePerHour === 0n) return x.latestEndMs;
  const extending = paid > entryPaid ? paid - entryPaid : 0n;
  const bought = (extending * HOUR_MS) / x.pricePerHour;
  const room = BigInt(x.latestEndMs - grant.toMs);
  return grant.toMs + Number(bought < room ? bought : room);
}

export function applyGrant(d: Draft, sender: string, b: TxBodies['grant'], txId: string): void {
  const v = vehicleOf(d, b.vehicle, 'body.vehicle');
  if (v.owner !== sender) throw new TxError('NOT_OWNER', 'sender', 'only the vehicle owner may grant access');
  if (b.scope.length === 0)
    throw new TxError('MALFORMED', 'body.scope', 'must name at least one signal or command');
  if (b.fromMs >= b.toMs) throw new TxError('MALFORMED', 'body.toMs', 'must be after fromMs');
  if (b.extension !== undefined && b.extension.latestEndMs < b.toMs)
    throw new TxError('MALFORMED', 'body.extension.latestEndMs', 'must not be before toMs');
  const { extension, ...rest } = b;
  d.setGrant(txId, {
    ...rest,
    latestEndMs: extension?.latestEndMs ?? b.toMs,
    pricePerHour: extension?.pricePerHour ?? 0n,
    entryPaid: extension?.entryPaid ?? 0n,
    paid: 0n,
    revoked: false,
    revokedMs: 0,
  });
}

export function applyRevoke(d: Draft, sender: string, b: TxBodies['revoke'], ctx: TxContext): void {
  const g = grantOf(d, b.grant);
  if (vehicleOf(d, g.vehicle, 'grant.vehicle').owner !== sender)
    throw new TxError('NOT_OWNER', 'sender', 'only the vehicle owner may revoke a grant');
  if (g.revoked) throw new TxError('REVOKED', 'body.grant', 'already revoked');
  d.setGrant(b.grant, { ...g, revoked: true, revokedMs: ctx.timeMs });
}

function liveGrant(g: Grant, kind: Grant['kind'], ctx: TxContext): void {
  if (g.kind !== kind) throw new TxError('OUT_OF_SCOPE', 'body.grant', `is a ${g.kind} grant, not ${kind}`);
  if (g.revoked) throw new TxError('REVOKED', 'body.grant', `revoked at ${g.revokedMs}`);
  if (ctx.timeMs < g.fromMs || ctx.timeMs > g.toMs)
    throw new TxError('EXPIRED', 'body.grant', `valid ${g.fromMs}..${g.toMs}, block time ${ctx.timeMs}`);
}

export function applyControlExec(
  d: Draft,
  sender: string,
  b: TxBodies['controlExec'],
  txId: string,
  ctx: TxContext,
): void {
  const g = grantOf(d, b.grant);
  liveGrant(g, 'control', ctx);
  if (!vehicleOf(d, g.vehicle, 'grant.vehicle').devices.includes(sender))
    throw new TxError('NOT_OWNER', 'sender', 'only a device bound to the vehicle records executions');
  if (!g.scope.includes(b.command))
    throw new TxError('OUT_OF_SCOPE', 'body.command', `'${b.command}' is not granted`);
  d.setExecution(txId, b.grant, b.command, b.resultCode);
}

export function applyListenerPay(d: Draft, sender: string, b: TxBodies['listenerPay']): void {
  const g = grantOf(d, b.grant);
  if (g.grantee !== sender) throw new TxError('NOT_PARTY', 'sender', 'only the grantee pays for a grant');
  if (g.kind !== 'listen') throw new TxError('OUT_OF_SCOPE', 'body.grant', 'is a control grant');
  if (g.revoked) throw new TxError('REVOKED', 'body.grant', `revoked at ${g.revokedMs}`);
  if (b.amount <= 0n) throw new TxError('MALFORMED', 'body.amount', 'must be greater than zero');
  const payer = d.account(sender);
  if (payer.qdd < b.amount)
    throw new TxError('INSUFFICIENT_FUNDS', 'body.amount', `has ${payer.qdd} QDD units`);
  // Issue 14, attack 3: the grantee moves the end only within what the owner signed into the grant
  // (applyGrant stored it): never past the latest end, and paying the owner's price for the added
  // time. Before, one base unit moved the end to any date. The device clamps to the same terms.
  if (b.extendToMs > g.toMs) {
    if (b.extendToMs > g.latestEndMs)
      throw new TxError(
        'BEYOND_TERMS',
        'body.extendToMs',
        `the owner allows this grant to run until ${g.latestEndMs} at the latest`,
      );
    // The entry payment the owner's terms require buys no time: what is still due of it is owed on
    // top of the extension's price (so the chain's end never runs past what the device allows).
    const entryDue = g.paid < g.entryPaid ? g.entryPaid - g.paid : 0n;
    const cost = extensionCost(g.pricePerHour, g.toMs, b.extendToMs) + entryDue;
    if (b.amount < cost)
      throw new TxError(
        'UNDERPAID',
        'body.amount',
        `extending to ${b.extendToMs} costs ${cost} QDD units at ${g.pricePerHour} an hour` +
          (entryDue > 0n ? `, with ${entryDue} of the entry payment still due` : ''),
      );
  }
  const owner = vehicleOf(d, g.vehicle, 'grant.vehicle').owner;
  d.setAccount(sender, { ...payer, qdd: payer.qdd - b.amount });
  const o = d.account(owner);
  d.setAccount(owner, { ...o, qdd: o.qdd + b.amount });
  d.setGrant(b.grant, { ...g, paid: g.paid + b.amount, toMs: Math.max(g.toMs, b.extendToMs) });
}
