/**
 * Key bundles wrapped by a seller that passes its secret key: the same order, buyer and keys give
 * the same bytes (so a device can make again the bundle its fill committed to), and anything else
 * gives another ephemeral key, never one key sealing two plaintexts.
 */
import { describe, expect, it } from 'vitest';
import { Ed25519Signer, openKeyBundle, sealKeyBundle, sha256 } from '../../../../chain/index.js';

const seller = sha256(Uint8Array.of(1));
const buyerSecret = sha256(Uint8Array.of(2));
const buyer = new Ed25519Signer(buyerSecret).publicKey;
const other = new Ed25519Signer(sha256(Uint8Array.of(3))).publicKey;
const order = sha256(Uint8Array.of(4));
const key = (epoch: number, b: number) => ({
  stream: 'drive',
  dataClass: 'owner' as const,
  epoch,
  key: new Uint8Array(32).fill(b),
});

describe('deterministic sale wraps', () => {
  it('the same seller, order, buyer and keys wrap to the same bytes, which open for the buyer', () => {
    const a = sealKeyBundle([key(0, 7), key(1, 8)], buyer, order, seller);
    // Input order and duplicates do not matter: the bundle is canonical.
    const b = sealKeyBundle([key(1, 8), key(0, 7), key(0, 7)], buyer, order, seller);
    expect(b).toEqual(a);
    expect(openKeyBundle(a, buyerSecret, order).map((k) => k.epoch)).toEqual([0, 1]);
  });

  it('another order, buyer, seller or content gets another ephemeral key', () => {
    const eph = (w: Uint8Array) => Buffer.from(w.subarray(0, 32)).toString('hex');
    const base = eph(sealKeyBundle([key(0, 7)], buyer, order, seller));
    const variants = [
      sealKeyBundle([key(0, 7)], buyer, sha256(order), seller),
      sealKeyBundle([key(0, 7)], other, order, seller),
      sealKeyBundle([key(0, 7)], buyer, order, sha256(seller)),
      sealKeyBundle([key(0, 9)], buyer, order, seller),
    ].map(eph);
    expect(new Set([base, ...variants]).size).toBe(5);
  });

  it('without the seller key the wrap is random', () => {
    expect(sealKeyBundle([key(0, 7)], buyer, order)).not.toEqual(sealKeyBundle([key(0, 7)], buyer, order));
  });
});
