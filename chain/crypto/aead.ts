/**
 * HKDF-SHA256 (RFC 5869) and the AEAD: ChaCha20-Poly1305 (RFC 8439) through node:crypto, with a
 * 32-byte key, a 12-byte nonce and a 16-byte tag appended to the ciphertext. ChaCha20 rather than
 * AES-GCM because a Raspberry Pi 4's Cortex-A72 has no AES instructions, where ChaCha20 in plain
 * NEON code is several times faster than table-free AES; on x86 with AES-NI, GCM is faster (the
 * bench prints both).
 *
 * Nonces are the caller's to make unique per key. A sealed chunk has a key of its own, derived from
 * its stream's epoch key, the device key and a random salt in its header, with its sequence number
 * as the nonce (chain/data/sealed-chunk.ts); a listener session has a random key per session and a
 * counter as the nonce (chain/wire/listen.ts).
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { CryptoError, checkLength } from './errors.js';

/** Lengths in bytes. */
export const AEAD = { key: 32, nonce: 12, tag: 16 } as const;

/** HKDF-SHA256: `length` bytes (at most 8160) from input key material, a salt and context info. */
export function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array | string,
  length: number,
): Uint8Array {
  const infoBytes = typeof info === 'string' ? Buffer.from(info, 'utf8') : info;
  return new Uint8Array(hkdfSync('sha256', ikm, salt, infoBytes, length));
}

function checkKeyNonce(key: Uint8Array, nonce: Uint8Array): void {
  checkLength(key, AEAD.key, 'AEAD key');
  checkLength(nonce, AEAD.nonce, 'AEAD nonce');
}

/** Encrypts `plaintext`; returns ciphertext followed by the 16-byte tag over it and `aad`. */
export function seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  checkKeyNonce(key, nonce);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD.tag });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const out = new Uint8Array(plaintext.length + AEAD.tag);
  out.set(c.update(plaintext), 0);
  c.final();
  out.set(c.getAuthTag(), plaintext.length);
  return out;
}

/**
 * Decrypts what `seal` made. Throws CryptoError('AUTH_FAILED') when the key, nonce, aad, ciphertext
 * or tag differ from sealing, and CryptoError('BAD_LENGTH') when `sealed` is shorter than a tag.
 */
export function open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  checkKeyNonce(key, nonce);
  if (sealed.length < AEAD.tag)
    throw new CryptoError(
      'BAD_LENGTH',
      'sealed data',
      `expected at least ${AEAD.tag} bytes, got ${sealed.length}`,
    );
  const body = sealed.subarray(0, sealed.length - AEAD.tag);
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD.tag });
  d.setAAD(aad, { plaintextLength: body.length });
  d.setAuthTag(sealed.subarray(sealed.length - AEAD.tag));
  const out = d.update(body);
  try {
    d.final();
  } catch {
    throw new CryptoError(
      'AUTH_FAILED',
      'sealed data',
      'authentication failed (wrong key, nonce or aad, or altered)',
    );
  }
  return new Uint8Array(out);
}
