import { describe, expect, it } from 'vitest';
import {
  type AgreementTerms,
  agreementId,
  agreementTermsHash,
  bundleLookup,
  type ChainState,
  decodeAnchoredDescriptor,
  decodeCanonical,
  decodeGrant,
  decodeOrder,
  decodeVehicle,
  encodeSignedTx,
  fillCommitment,
  getAccount,
  getRecord,
  keyHash,
  type Order,
  openKeyBundle,
  paidEndMs,
  proveKey,
  sealKeyBundle,
  sha256,
  smtVerify,
  stateKey,
  stateRoot,
  toHex,
  UNIT,
  unwrapKey,
  validateTx,
  wrapKey,
  x25519PublicFromEd25519,
  x25519SecretFromEd25519,
} from '../../../../chain/index.js';
import { addr, block, genesis, keyOf, keys, reason, T0, tx } from '../chain-fixture.js';

const { alice, bob, oem, device, carol } = keys;
const VEHICLE = toHex(sha256(new TextEncoder().encode('VIN 1HGCM82633A004352')));
const ROOT = sha256(Uint8Array.of(1));
/** A fill's body: the commitment to the wrapped bundle it will reveal. */
const commit = (order: Uint8Array, wrapped: Uint8Array) => ({
  order: toHex(order),
  commitment: fillCommitment(order, wrapped),
});
const HOUR = 3_600_000;

function terms(
  version = 1,
  split = [
    { party: addr(alice), bps: 7000 },
    { party: addr(oem), bps: 2000 },
    { party: addr(carol), bps: 1000 },
  ],
): AgreementTerms {
  return {
    vehicle: VEHICLE,
    owner: addr(alice),
    oem: addr(oem),
    version,
    classes: [
      { name: 'owner-driving', holder: 0, privacy: 0 },
      { name: 'oem-diagnostics', holder: 1, privacy: 1 },
    ],
    split,
  };
}

function agreementTx(s: ChainState, t = terms()) {
  const h = agreementTermsHash(t);
  return tx(s, alice, 'agreement', { terms: t, ownerSignature: alice.sign(h), oemSignature: oem.sign(h) });
}

/** A vehicle owned by alice with a bound device and an agreement with the OEM. */
function market(): { s: ChainState; agreement: string } {
  let s = genesis();
  s = block(s, tx(s, alice, 'registerVehicle', { vehicle: VEHICLE }));
  s = block(s, tx(s, alice, 'bindDevice', { vehicle: VEHICLE, device: addr(device) }));
  s = block(s, agreementTx(s));
  return { s, agreement: agreementId(VEHICLE, addr(alice), addr(oem)) };
}

const descriptorBody = (agreement: string) => ({
  agreement,
  merkleRoot: ROOT,
  chunkCount: 12,
  dataClass: 'owner-driving',
  fromMs: T0,
  toMs: T0 + 60_000,
  dictionary: 'vss-6.0',
});

describe('vehicles and QoodShares agreements', () => {
  it('needs both the owner and the OEM signature, and the owner of the vehicle', () => {
    let s = genesis();
    s = block(s, tx(s, alice, 'registerVehicle', { vehicle: VEHICLE }));
    expect(reason(s, tx(s, bob, 'registerVehicle', { vehicle: VEHICLE }))).toBe('DUPLICATE');
    expect(reason(s, tx(s, bob, 'bindDevice', { vehicle: VEHICLE, device: addr(device) }))).toBe('NOT_OWNER');
    const t = terms();
    const h = agreementTermsHash(t);
    expect(reason(s, agreementTx(s))).toBe('ok');
    const missingOem = tx(s, alice, 'agreement', {
      terms: t,
      ownerSignature: alice.sign(h),
      oemSignature: new Uint8Array(64),
    });
    const r = validateTx(s, missingOem);
    expect(!r.ok && [r.error.code, r.error.field]).toEqual(['BAD_SIGNATURE', 'body.oemSignature']);
    const missingOwner = tx(s, alice, 'agreement', {
      terms: t,
      ownerSignature: oem.sign(h),
      oemSignature: oem.sign(h),
    });
    expect(reason(s, missingOwner)).toBe('BAD_SIGNATURE');
    expect(
      reason(
        s,
        tx(s, bob, 'agreement', { terms: t, ownerSignature: alice.sign(h), oemSignature: oem.sign(h) }),
      ),
    ).toBe('NOT_PARTY');
    expect(reason(s, agreementTx(s, terms(1, [{ party: addr(alice), bps: 9000 }])))).toBe('MALFORMED');
    expect(reason(s, agreementTx(s, { ...terms(), owner: addr(bob) }))).toBe('NOT_OWNER');
  });

  it('records changes as new versions only', () => {
    const { s, agreement } = market();
    expect(reason(s, agreementTx(s))).toBe('MALFORMED'); // version 1 again
    const s2 = block(s, agreementTx(s, terms(2, [{ party: addr(alice), bps: 10_000 }])));
    expect(getRecord<{ version: number }>(s2.tree, stateKey.agreement(agreement))!.version).toBe(2);
  });
});

describe('descriptors, orders and fills', () => {
  it('a fill pays each party its share and closes the order; the wrapped key opens for the buyer only', () => {
    let { s, agreement } = market();
    const d = tx(s, device, 'descriptor', descriptorBody(agreement));
    s = block(s, d);
    const buy = tx(s, carol, 'order', {
      side: 'buy',
      descriptor: toHex(d.id),
      price: 10n * UNIT + 1n,
      expiresHeight: s.height + 50,
    });
    s = block(s, buy);
    expect(getAccount(s, addr(carol)).qdd).toBe(90n * UNIT - 1n);
    const dataKey = sha256(Uint8Array.of(42));
    const wrapped = wrapKey(dataKey, x25519PublicFromEd25519(carol.publicKey), buy.id);
    const aliceBefore = getAccount(s, addr(alice)).qdd;
    s = block(s, tx(s, alice, 'fill', commit(buy.id, wrapped)));
    // 70 / 20 / 10 percent; the rounding remainder goes to the first party.
    expect(getAccount(s, addr(alice)).qdd - aliceBefore).toBe(7n * UNIT + 1n);
    expect(getAccount(s, addr(oem)).qdd).toBe(2n * UNIT);
    expect(getAccount(s, addr(carol)).qdd).toBe(90n * UNIT - 1n + 1n * UNIT);
    // Paid, keys owed: the order stays open until the reveal, which closes it.
    expect(getRecord<Order>(s.tree, stateKey.order(toHex(buy.id)))!.open).toBe(true);
    s = block(s, tx(s, alice, 'reveal', { order: toHex(buy.id), wrappedKey: wrapped }));
    expect(getRecord<Order>(s.tree, stateKey.order(toHex(buy.id)))!.open).toBe(false);
    expect(
      unwrapKey(wrapped, x25519SecretFromEd25519(sha256(new TextEncoder().encode('test-key/carol'))), buy.id),
    ).toEqual(dataKey);
    expect(reason(s, tx(s, alice, 'fill', commit(buy.id, wrapped)))).toBe('CLOSED');
  });

  it('a bound device delivers a key bundle: kept in the order record, proven, and opened by the buyer only', () => {
    let { s, agreement } = market();
    const d = tx(s, device, 'descriptor', descriptorBody(agreement));
    s = block(s, d);
    const buy = tx(s, carol, 'order', {
      side: 'buy',
      descriptor: toHex(d.id),
      price: UNIT,
      expiresHeight: s.height + 9,
    });
    s = block(s, buy);
    const keys = [
      { stream: 'can', dataClass: 'owner' as const, epoch: 7, key: sha256(Uint8Array.of(1)) },
      { stream: 'gnss', dataClass: 'oem' as const, epoch: 7, key: sha256(Uint8Array.of(2)) },
      { stream: 'can', dataClass: 'owner' as const, epoch: 8, key: sha256(Uint8Array.of(3)) },
    ];
    const bundle = sealKeyBundle(keys, carol.publicKey, buy.id);
    expect(reason(s, tx(s, bob, 'fill', commit(buy.id, bundle)))).toBe('NOT_OWNER');
    s = block(s, tx(s, device, 'fill', commit(buy.id, bundle)));
    const filledAt = s.height;
    const reveal = (who: typeof device, wrappedKey: Uint8Array) =>
      tx(s, who, 'reveal', { order: toHex(buy.id), wrappedKey });
    expect(reason(s, reveal(bob, bundle))).toBe('NOT_OWNER');
    expect(reason(s, reveal(device, bundle.subarray(0, 48)))).toBe('MALFORMED');
    s = block(s, reveal(device, bundle));
    const key = stateKey.order(toHex(buy.id));
    const proof = proveKey(s, key);
    expect(smtVerify(stateRoot(s), keyHash(key), proof.value, proof.proof)).toBe(true);
    const order = decodeOrder(proof.value!);
    expect([order.open, order.filledHeight, order.maker]).toEqual([false, filledAt, addr(carol)]);
    const carolSecret = sha256(new TextEncoder().encode('test-key/carol'));
    const opened = openKeyBundle(order.delivery, carolSecret, buy.id);
    expect(opened).toHaveLength(3);
    expect(bundleLookup(opened)('gnss', 'oem', 7)).toEqual(keys[1]!.key);
    expect(bundleLookup(opened)('gnss', 'owner', 7)).toBeUndefined();
    expect(() => openKeyBundle(order.delivery, carolSecret, d.id)).toThrow(/AUTH|auth/);
    expect(() =>
      openKeyBundle(order.delivery, sha256(new TextEncoder().encode('test-key/bob')), buy.id),
    ).toThrow();
    const vehicle = decodeVehicle(proveKey(s, stateKey.vehicle(VEHICLE)).value!);
    expect(vehicle).toEqual({ owner: addr(alice), devices: [addr(device)] });
    const anchored = decodeAnchoredDescriptor(proveKey(s, stateKey.descriptor(toHex(d.id))).value!);
    expect(anchored.merkleRoot).toEqual(ROOT);
    expect(anchored.chunkCount).toBe(12);
  });

  it('a fill travelling in gossip opens nothing, and once the keys are public the order cannot expire unpaid', () => {
    let { s, agreement } = market();
    const d = tx(s, device, 'descriptor', descriptorBody(agreement));
    s = block(s, d);
    const buy = tx(s, carol, 'order', {
      side: 'buy',
      descriptor: toHex(d.id),
      price: UNIT,
      expiresHeight: s.height + 3,
    });
    s = block(s, buy);
    const carolSecret = sha256(new TextEncoder().encode('test-key/carol'));
    const keys = [{ stream: 'can', dataClass: 'owner' as const, epoch: 7, key: sha256(Uint8Array.of(9)) }];
    const bundle = sealKeyBundle(keys, carol.publicKey, buy.id);
    // What a storage node relays and gossips: the fill's bytes. No part of it opens with the
    // buyer's key, nor carries the key or the wrapped bundle.
    const fill = tx(s, device, 'fill', commit(buy.id, bundle));
    const bytes = encodeSignedTx(fill);
    for (const part of byteStrings(decodeCanonical(bytes)))
      expect(() => openKeyBundle(part, carolSecret, buy.id)).toThrow();
    expect(Buffer.from(bytes).includes(Buffer.from(keys[0]!.key))).toBe(false);
    expect(Buffer.from(bytes).includes(Buffer.from(bundle.subarray(0, 32)))).toBe(false);
    // Keys cannot come before the payment: a reveal needs the fill in an earlier block.
    expect(reason(s, tx(s, device, 'reveal', { order: toHex(buy.id), wrappedKey: bundle }))).toBe('NOT_YET');
    const ownerBefore = getAccount(s, addr(alice)).qdd;
    s = block(s, fill);
    expect(getAccount(s, addr(alice)).qdd - ownerBefore).toBe((UNIT * 7000n) / 10_000n);
    // The order expires with the keys still owed: the buyer cannot take the escrow back.
    s = block(block(block(s)));
    expect(s.height).toBeGreaterThan(
      decodeOrder(proveKey(s, stateKey.order(toHex(buy.id))).value!).expiresHeight,
    );
    expect(reason(s, tx(s, carol, 'cancelOrder', { order: toHex(buy.id) }))).toBe('CLOSED');
    // The reveal still lands after expiry, only with the committed bundle.
    const other = sealKeyBundle(keys, carol.publicKey, buy.id);
    expect(reason(s, tx(s, device, 'reveal', { order: toHex(buy.id), wrappedKey: other }))).toBe('MALFORMED');
    s = block(s, tx(s, device, 'reveal', { order: toHex(buy.id), wrappedKey: bundle }));
    const order = decodeOrder(proveKey(s, stateKey.order(toHex(buy.id))).value!);
    expect(bundleLookup(openKeyBundle(order.delivery, carolSecret, buy.id))('can', 'owner', 7)).toEqual(
      keys[0]!.key,
    );
    expect(reason(s, tx(s, device, 'reveal', { order: toHex(buy.id), wrappedKey: bundle }))).toBe('CLOSED');
    expect(reason(s, tx(s, carol, 'cancelOrder', { order: toHex(buy.id) }))).toBe('CLOSED');
    // Carol paid the price (and, a party of the agreement, got her 10 % share of it back).
    expect(getAccount(s, addr(carol)).qdd).toBe(99n * UNIT + UNIT / 10n);
  });

  it('refuses fills without a matching order, by someone else, after expiry; and bad descriptors and orders', () => {
    let { s, agreement } = market();
    expect(reason(s, tx(s, bob, 'descriptor', descriptorBody(agreement)))).toBe('NOT_OWNER');
    expect(reason(s, tx(s, alice, 'descriptor', { ...descriptorBody(agreement), dataClass: 'secret' }))).toBe(
      'OUT_OF_SCOPE',
    );
    expect(reason(s, tx(s, alice, 'descriptor', { ...descriptorBody(agreement), chunkCount: 0 }))).toBe(
      'MALFORMED',
    );
    expect(reason(s, tx(s, alice, 'descriptor', descriptorBody(toHex(ROOT))))).toBe('UNKNOWN');
    const d = tx(s, alice, 'descriptor', descriptorBody(agreement));
    s = block(s, d);
    const wrapped = new Uint8Array(80);
    expect(reason(s, tx(s, alice, 'fill', commit(d.id, wrapped)))).toBe('UNKNOWN');
    expect(
      reason(
        s,
        tx(s, bob, 'order', { side: 'buy', descriptor: toHex(d.id), price: 1n, expiresHeight: s.height + 5 }),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    expect(
      reason(
        s,
        tx(s, carol, 'order', { side: 'buy', descriptor: toHex(d.id), price: 1n, expiresHeight: s.height }),
      ),
    ).toBe('EXPIRED');
    expect(
      reason(
        s,
        tx(s, bob, 'order', {
          side: 'sell',
          descriptor: toHex(d.id),
          price: 1n,
          expiresHeight: s.height + 5,
        }),
      ),
    ).toBe('NOT_OWNER');
    expect(
      reason(
        s,
        tx(s, alice, 'order', {
          side: 'sell',
          descriptor: toHex(d.id),
          price: 1n,
          expiresHeight: s.height + 5,
        }),
      ),
    ).toBe('ok');
    const buy = tx(s, carol, 'order', {
      side: 'buy',
      descriptor: toHex(d.id),
      price: 5n,
      expiresHeight: s.height + 2,
    });
    s = block(s, buy);
    expect(reason(s, tx(s, bob, 'fill', commit(buy.id, wrapped)))).toBe('NOT_OWNER');
    // Until it expires, the buyer's escrow is locked: no cancelling under a pending fill.
    expect(reason(s, tx(s, carol, 'cancelOrder', { order: toHex(buy.id) }))).toBe('LOCKED');
    s = block(block(s));
    expect(reason(s, tx(s, alice, 'fill', commit(buy.id, wrapped)))).toBe('EXPIRED');
    // Once expired, the buyer gets the escrow back by cancelling; nobody else may cancel.
    expect(reason(s, tx(s, bob, 'cancelOrder', { order: toHex(buy.id) }))).toBe('NOT_OWNER');
    s = block(s, tx(s, carol, 'cancelOrder', { order: toHex(buy.id) }));
    expect(getAccount(s, addr(carol)).qdd).toBe(100n * UNIT);
  });
});

describe('grants, revocations, control executions and listener payments', () => {
  const grantBody = (kind: 'listen' | 'control', scope: string[]) => ({
    vehicle: VEHICLE,
    grantee: addr(bob),
    kind,
    scope,
    fromMs: T0,
    toMs: T0 + 3_600_000,
    termsHash: sha256(Uint8Array.of(7)),
  });

  it('only the owner grants and revokes; a revoked or expired grant cannot be used', () => {
    let { s } = market();
    expect(reason(s, tx(s, bob, 'grant', grantBody('control', ['lock'])))).toBe('NOT_OWNER');
    expect(reason(s, tx(s, alice, 'grant', { ...grantBody('control', ['lock']), toMs: T0 }))).toBe(
      'MALFORMED',
    );
    const g = tx(s, alice, 'grant', grantBody('control', ['lock', 'unlock']));
    s = block(s, g);
    const exec = (command: string) =>
      tx(s, device, 'controlExec', { grant: toHex(g.id), command, argsHash: ROOT, resultCode: 0 });
    expect(reason(s, exec('lock'))).toBe('ok');
    expect(reason(s, exec('start-engine'))).toBe('OUT_OF_SCOPE');
    expect(
      reason(
        s,
        tx(s, bob, 'controlExec', { grant: toHex(g.id), command: 'lock', argsHash: ROOT, resultCode: 0 }),
      ),
    ).toBe('NOT_OWNER');
    expect(reason(s, exec('lock'), T0 + 3_600_001)).toBe('EXPIRED');
    s = block(s, exec('lock'));
    expect(reason(s, tx(s, bob, 'revoke', { grant: toHex(g.id) }))).toBe('NOT_OWNER');
    s = block(s, tx(s, alice, 'revoke', { grant: toHex(g.id) }));
    expect(reason(s, exec('lock'))).toBe('REVOKED');
    expect(reason(s, tx(s, alice, 'revoke', { grant: toHex(g.id) }))).toBe('REVOKED');
    expect(reason(s, tx(s, alice, 'revoke', { grant: toHex(ROOT) }))).toBe('UNKNOWN');
  });

  it('listener payments go to the owner and renew the grant', () => {
    let { s } = market();
    s = block(
      s,
      tx(s, alice, 'transfer', { to: addr(bob), token: 'QDD', amount: 20n, memo: new Uint8Array() }),
    );
    // The owner offers an extension to T0 + 2 h at 5 units an hour (attack 3: without extension
    // terms a grant's end is fixed).
    const g = tx(s, alice, 'grant', {
      ...grantBody('listen', ['Vehicle.Speed']),
      extension: { pricePerHour: 5n, latestEndMs: T0 + 7_200_000, entryPaid: 0n },
    });
    const c = tx(s, alice, 'grant', grantBody('control', ['lock']), { nonceOffset: 1 });
    s = block(s, g, c);
    const pay = (who: typeof bob, grant: Uint8Array, amount: bigint) =>
      tx(s, who, 'listenerPay', { grant: toHex(grant), amount, extendToMs: T0 + 7_200_000 });
    expect(reason(s, pay(carol, g.id, 5n))).toBe('NOT_PARTY');
    expect(reason(s, pay(bob, c.id, 5n))).toBe('OUT_OF_SCOPE');
    expect(reason(s, pay(bob, g.id, 21n))).toBe('INSUFFICIENT_FUNDS');
    const ownerBefore = getAccount(s, addr(alice)).qdd;
    s = block(s, pay(bob, g.id, 5n));
    expect(getAccount(s, addr(alice)).qdd).toBe(ownerBefore + 5n);
    const proof = proveKey(s, stateKey.grant(toHex(g.id)));
    expect(smtVerify(stateRoot(s), keyHash(proof.key), proof.value, proof.proof)).toBe(true);
    const grant = decodeGrant(proof.value!);
    expect(grant).toMatchObject({ paid: 5n, toMs: T0 + 7_200_000, revoked: false, kind: 'listen' });
    expect(proof.wireBytes).toBeLessThan(1024);
  });

  it('a grantee paying one base unit cannot extend its grant past what the owner signed', () => {
    let { s } = market();
    s = block(
      s,
      tx(s, alice, 'transfer', { to: addr(bob), token: 'QDD', amount: 100n, memo: new Uint8Array() }),
    );
    // One grant the owner signed without extension terms, one at 10 units an hour up to T0 + 3 h.
    const fixed = tx(s, alice, 'grant', grantBody('listen', ['Vehicle.Speed']));
    const priced = tx(
      s,
      alice,
      'grant',
      {
        ...grantBody('listen', ['Vehicle.Speed']),
        extension: { pricePerHour: 10n, latestEndMs: T0 + 3 * HOUR, entryPaid: 0n },
      },
      { nonceOffset: 1 },
    );
    s = block(s, fixed, priced);
    const pay = (grant: Uint8Array, amount: bigint, extendToMs: number) =>
      tx(s, bob, 'listenerPay', { grant: toHex(grant), amount, extendToMs });
    // The attack: one base unit, an end in 2096.
    expect(reason(s, pay(fixed.id, 1n, 4e12))).toBe('BEYOND_TERMS');
    expect(reason(s, pay(priced.id, 1n, 4e12))).toBe('BEYOND_TERMS');
    expect(reason(s, pay(priced.id, 50n, T0 + 3 * HOUR + 1))).toBe('BEYOND_TERMS');
    // Within the owner's latest end, the payment must cover the price of the added time.
    expect(reason(s, pay(priced.id, 1n, T0 + 2 * HOUR))).toBe('UNDERPAID');
    expect(reason(s, pay(priced.id, 9n, T0 + 2 * HOUR))).toBe('UNDERPAID');
    s = block(s, pay(priced.id, 10n, T0 + 2 * HOUR));
    s = block(s, pay(fixed.id, 1n, 0));
    const record = (g: Uint8Array) => decodeGrant(proveKey(s, stateKey.grant(toHex(g))).value!);
    expect(record(priced.id)).toMatchObject({ toMs: T0 + 2 * HOUR, paid: 10n, latestEndMs: T0 + 3 * HOUR });
    // A payment that does not extend is still a payment; the end the owner signed stays.
    expect(record(fixed.id)).toMatchObject({ toMs: T0 + HOUR, paid: 1n, latestEndMs: T0 + HOUR });
    // An owner cannot sign a latest end before the grant's own end.
    expect(
      reason(
        s,
        tx(s, alice, 'grant', {
          ...grantBody('listen', ['Vehicle.Speed']),
          extension: { pricePerHour: 1n, latestEndMs: T0, entryPaid: 0n },
        }),
      ),
    ).toBe('MALFORMED');
  });

  it('the entry payment the owner signed buys no extension on chain: it is owed on top of the price', () => {
    let { s } = market();
    s = block(
      s,
      tx(s, alice, 'transfer', { to: addr(bob), token: 'QDD', amount: 100n, memo: new Uint8Array() }),
    );
    // 10 units an hour up to T0 + 3 h, after an entry payment of 30.
    const g = tx(s, alice, 'grant', {
      ...grantBody('listen', ['Vehicle.Speed']),
      extension: { pricePerHour: 10n, latestEndMs: T0 + 3 * HOUR, entryPaid: 30n },
    });
    s = block(s, g);
    const pay = (amount: bigint, extendToMs: number) =>
      tx(s, bob, 'listenerPay', { grant: toHex(g.id), amount, extendToMs });
    const record = () => decodeGrant(proveKey(s, stateKey.grant(toHex(g.id))).value!);
    // The entry alone extends nothing: 30 units with an extension of an hour is 10 short.
    expect(reason(s, pay(30n, T0 + 2 * HOUR))).toBe('UNDERPAID');
    s = block(s, pay(40n, T0 + 2 * HOUR));
    expect(record()).toMatchObject({ toMs: T0 + 2 * HOUR, paid: 40n, entryPaid: 30n });
    // Once the entry is paid, only the price of the added time is owed.
    s = block(s, pay(10n, T0 + 3 * HOUR));
    expect(record()).toMatchObject({ toMs: T0 + 3 * HOUR, paid: 50n });
    // The device's clamp, from the same terms, allows the same end.
    expect(
      paidEndMs({ toMs: T0 + HOUR, extension: { pricePerHour: 10n, latestEndMs: T0 + 3 * HOUR } }, 50n, 30n),
    ).toBe(T0 + 3 * HOUR);
  });

  it('a light client proves a revocation and a balance against the state root', () => {
    let { s } = market();
    const g = tx(s, alice, 'grant', grantBody('listen', ['Vehicle.Speed']));
    s = block(s, g);
    s = block(s, tx(s, alice, 'revoke', { grant: toHex(g.id) }));
    const p = proveKey(s, stateKey.grant(toHex(g.id)));
    expect(smtVerify(stateRoot(s), keyHash(p.key), p.value, p.proof)).toBe(true);
    expect(decodeGrant(p.value!).revoked).toBe(true);
    // The proof does not pass for the grant as it was before the revocation.
    const before = proveKey(genesis(), stateKey.grant(toHex(g.id)));
    expect(before.value).toBeNull();
    expect(smtVerify(stateRoot(s), keyHash(p.key), encodeUnrevoked(p.value!), p.proof)).toBe(false);
    const nobody = keyOf('nobody');
    const absent = proveKey(s, stateKey.account(addr(nobody)));
    expect(smtVerify(stateRoot(s), keyHash(absent.key), null, absent.proof)).toBe(true);
  });
});

/** The grant's bytes with the revoked flag cleared (CBOR true f5 -> false f4 near the end). */
function encodeUnrevoked(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const i = b.lastIndexOf(0xf5);
  b[i] = 0xf4;
  return b;
}

/** Every byte string inside a decoded canonical value. */
function byteStrings(v: unknown): Uint8Array[] {
  if (v instanceof Uint8Array) return [v];
  if (Array.isArray(v)) return v.flatMap(byteStrings);
  return [];
}
