import { randomBytes } from 'node:crypto';
import { ED25519_TORSION_SUBGROUP, ed25519 as noble } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  checkPublicKey,
  Ed25519Signer,
  fromHex,
  getPublicKey,
  hkdf,
  open,
  seal,
  sha256,
  sign,
  taggedHash,
  toHex,
  unwrapKey,
  verify,
  verifyNoble,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  x25519PublicFromEd25519,
  x25519PublicKey,
  x25519SecretFromEd25519,
} from '../../../../chain/index.js';

const rnd = (n: number) => new Uint8Array(randomBytes(n));
const errCode = (f: () => unknown): string => {
  try {
    f();
    return 'none';
  } catch (e) {
    return e instanceof CryptoError ? e.code : `other: ${String(e)}`;
  }
};
// The group order L of ed25519 (RFC 8032 §5.1), for building a malleated signature S + L.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

describe('SHA-256', () => {
  it('hashes the FIPS 180-2 "abc" vector and concatenated parts alike', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256(Uint8Array.of(1, 2), Uint8Array.of(3))).toEqual(sha256(Uint8Array.of(1, 2, 3)));
  });
  it('separates domains: tag and zero byte prefix the data', () => {
    const d = Uint8Array.of(9);
    expect(taggedHash('qood/a', d)).toEqual(sha256(new TextEncoder().encode('qood/a'), Uint8Array.of(0), d));
    expect(taggedHash('qood/a', d)).not.toEqual(taggedHash('qood/b', d));
  });
});

describe('ed25519', () => {
  it('native signing gives the same bytes as @noble/curves, and both verifiers agree', () => {
    for (let i = 0; i < 50; i++) {
      const sk = rnd(32);
      const msg = rnd(i * 7);
      const sig = sign(msg, sk);
      expect(sig).toEqual(noble.sign(msg, sk));
      expect(getPublicKey(sk)).toEqual(noble.getPublicKey(sk));
      const pk = getPublicKey(sk);
      expect(verify(sig, msg, pk)).toBe(true);
      expect(verifyNoble(sig, msg, pk)).toBe(true);
      const bad = sig.slice();
      bad[i % 64]! ^= 1 << (i % 8);
      expect(verify(bad, msg, pk)).toBe(false);
      expect(verifyNoble(bad, msg, pk)).toBe(false);
    }
  });

  it('rejects a malleated signature (S + L) in both verifiers', () => {
    const sk = rnd(32);
    const msg = Uint8Array.of(1, 2, 3);
    const sig = sign(msg, sk);
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const s2 = s + L;
    const mall = sig.slice();
    for (let i = 0; i < 32; i++) mall[32 + i] = Number((s2 >> BigInt(8 * i)) & 0xffn);
    expect(verify(mall, msg, getPublicKey(sk))).toBe(false);
    expect(verifyNoble(mall, msg, getPublicKey(sk))).toBe(false);
  });

  it('returns false, never throws, for wrong lengths and off-curve keys', () => {
    const sk = rnd(32);
    const sig = sign(Uint8Array.of(1), sk);
    expect(verify(sig.subarray(0, 63), Uint8Array.of(1), getPublicKey(sk))).toBe(false);
    expect(verify(sig, Uint8Array.of(1), getPublicKey(sk).subarray(1))).toBe(false);
    // y = 2 is not the y of any curve point.
    const offCurve = new Uint8Array(32);
    offCurve[0] = 2;
    expect(verify(sig, Uint8Array.of(1), offCurve)).toBe(false);
    expect(verifyNoble(sig, Uint8Array.of(1), offCurve)).toBe(false);
    expect(errCode(() => checkPublicKey(offCurve))).toBe('BAD_KEY');
    expect(errCode(() => checkPublicKey(getPublicKey(sk)))).toBe('none');
    expect(errCode(() => sign(Uint8Array.of(1), rnd(31)))).toBe('BAD_LENGTH');
  });

  it('refuses small-order and non-canonical public keys that OpenSSL alone would accept', () => {
    const p = 2n ** 255n - 19n;
    const le = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
    const msg = Uint8Array.of(1, 2, 3);
    // R = identity, S = 0: [0]B = identity + [k]A holds for any message when A has small order.
    const trivial = Uint8Array.of(...le(1n), ...new Uint8Array(32));
    const weak = [
      ...ED25519_TORSION_SUBGROUP.map(fromHex),
      le(p + 1n), // y = p + 1: a non-canonical identity
      le(p - 1n + 2n ** 255n), // y = -1 with the sign bit: negative zero
    ];
    for (const pk of weak) {
      expect(verify(trivial, msg, pk)).toBe(false);
      expect(verifyNoble(trivial, msg, pk)).toBe(false);
    }
  });

  it('checks the cofactorless equation: an R with a small-order part fails, though noble accepts it', () => {
    // RFC 8032 signing by hand with R = [r]B + T, T of order 8; S = r + k*a matches R only up to T.
    const seed = rnd(32);
    const { scalar: a, pointBytes: A } = noble.utils.getExtendedPublicKey(seed);
    const msg = Uint8Array.of(9, 9);
    const r = 1234567n;
    const T = noble.Point.fromHex(ED25519_TORSION_SUBGROUP[3]!);
    const R = noble.Point.BASE.multiply(r).add(T).toBytes();
    const digest = sha512(Uint8Array.of(...R, ...A, ...msg));
    let k = 0n;
    for (let i = 63; i >= 0; i--) k = (k << 8n) | BigInt(digest[i]!);
    const S = (r + (k % L) * a) % L;
    const sig = Uint8Array.of(
      ...R,
      ...Array.from({ length: 32 }, (_, i) => Number((S >> BigInt(8 * i)) & 0xffn)),
    );
    expect(verifyNoble(sig, msg, A)).toBe(true);
    expect(verify(sig, msg, A)).toBe(false);
  });

  it('a reusable signer signs like the one-shot function', () => {
    const sk = rnd(32);
    const s = new Ed25519Signer(sk);
    expect(s.publicKey).toEqual(getPublicKey(sk));
    expect(s.sign(Uint8Array.of(5))).toEqual(sign(Uint8Array.of(5), sk));
  });
});

describe('HKDF-SHA256 and ChaCha20-Poly1305', () => {
  it('derives RFC 5869 test case 1', () => {
    const okm = hkdf(
      new Uint8Array(22).fill(0x0b),
      fromHex('000102030405060708090a0b0c'),
      fromHex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(toHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('seals the RFC 8439 §2.8.2 vector (ciphertext start and tag) and opens it', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const nonce = fromHex('070000004041424344454647');
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
    const pt = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const sealed = seal(key, nonce, pt, aad);
    expect(sealed.length).toBe(pt.length + 16);
    expect(toHex(sealed.subarray(0, 16))).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(toHex(sealed.subarray(pt.length))).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(open(key, nonce, sealed, aad)).toEqual(pt);
  });

  it('fails authentication on any change to key, nonce, aad, ciphertext or tag', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 20 }),
        fc.nat(),
        (pt, aad, pick) => {
          const key = rnd(32);
          const nonce = rnd(12);
          const sealed = seal(key, nonce, pt, aad);
          expect(open(key, nonce, sealed, aad)).toEqual(pt);
          const flipped = sealed.slice();
          flipped[pick % flipped.length]! ^= 0x01;
          expect(errCode(() => open(key, nonce, flipped, aad))).toBe('AUTH_FAILED');
          const k2 = key.slice();
          k2[0]! ^= 1;
          expect(errCode(() => open(k2, nonce, sealed, aad))).toBe('AUTH_FAILED');
          const n2 = nonce.slice();
          n2[11]! ^= 1;
          expect(errCode(() => open(key, n2, sealed, aad))).toBe('AUTH_FAILED');
          expect(errCode(() => open(key, nonce, sealed, Uint8Array.of(...aad, 0)))).toBe('AUTH_FAILED');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('names wrong lengths', () => {
    expect(() => seal(rnd(16), rnd(12), Uint8Array.of(1))).toThrow('AEAD key: expected 32 bytes, got 16');
    expect(() => seal(rnd(32), rnd(8), Uint8Array.of(1))).toThrow('AEAD nonce: expected 12 bytes, got 8');
    expect(errCode(() => open(rnd(32), rnd(12), rnd(15)))).toBe('BAD_LENGTH');
  });
});

describe('X25519 key wrapping', () => {
  it('computes the RFC 7748 §6.1 public keys', () => {
    expect(
      toHex(x25519PublicKey(fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))),
    ).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('wraps to an ed25519 account key and unwraps with the matching secret only', () => {
    const buyer = rnd(32);
    const other = rnd(32);
    const dataKey = rnd(32);
    const ctx = new TextEncoder().encode('order 7 chunks 0-99');
    const wrapped = wrapKey(dataKey, x25519PublicFromEd25519(getPublicKey(buyer)), ctx);
    expect(wrapped.length).toBe(WRAPPED_KEY_LENGTH);
    // The Montgomery form of the public key matches the X25519 key of the derived secret.
    expect(x25519PublicKey(x25519SecretFromEd25519(buyer))).toEqual(
      x25519PublicFromEd25519(getPublicKey(buyer)),
    );
    expect(unwrapKey(wrapped, x25519SecretFromEd25519(buyer), ctx)).toEqual(dataKey);
    expect(errCode(() => unwrapKey(wrapped, x25519SecretFromEd25519(other), ctx))).toBe('AUTH_FAILED');
    expect(errCode(() => unwrapKey(wrapped, x25519SecretFromEd25519(buyer), Uint8Array.of(1)))).toBe(
      'AUTH_FAILED',
    );
    expect(errCode(() => unwrapKey(wrapped.subarray(1), x25519SecretFromEd25519(buyer), ctx))).toBe(
      'BAD_LENGTH',
    );
  });

  it('uses a fresh ephemeral key per wrap, so wrapping twice differs', () => {
    const pub = x25519PublicKey(rnd(32));
    const k = rnd(32);
    expect(toHex(wrapKey(k, pub))).not.toBe(toHex(wrapKey(k, pub)));
  });

  it('refuses a low-order recipient or ephemeral point', () => {
    const zero = new Uint8Array(32);
    expect(errCode(() => wrapKey(rnd(32), zero))).toBe('LOW_ORDER_POINT');
    const wrapped = new Uint8Array(WRAPPED_KEY_LENGTH);
    expect(errCode(() => unwrapKey(wrapped, rnd(32)))).toBe('LOW_ORDER_POINT');
  });
});
