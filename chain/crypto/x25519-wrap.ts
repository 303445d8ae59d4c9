/**
 * Key wrapping for key delivery ("encrypt once, authorise many"): a 32-byte data key is wrapped to a
 * recipient's X25519 public key with an ephemeral X25519 key, HKDF-SHA256 and ChaCha20-Poly1305.
 *
 *   wrapped = ephemeralPublic (32) || seal(kek, zero nonce, dataKey, aad = context) (32 + 16) = 80 bytes
 *   kek     = HKDF(ikm = X25519(ephemeral, recipient), salt = ephemeralPublic || recipientPublic,
 *                  info = "qood/wrap/v1")
 *
 * The zero nonce is safe because every wrap uses a fresh ephemeral key, hence a fresh kek. The context
 * (for example the order id and chunk range) is bound as associated data, so a wrapped key cannot be
 * replayed for another delivery.
 *
 * Recipients are addressed by their ed25519 account key: its X25519 key is the birationally
 * equivalent Montgomery point (RFC 7748 §4.1; what libsodium's crypto_sign_ed25519_pk_to_curve25519
 * and age's ssh-ed25519 recipients do). A buyer thus needs no second key registered on chain, and
 * the buyer's wallet derives the matching X25519 secret from its ed25519 secret.
 */
import { randomBytes } from 'node:crypto';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { AEAD, hkdf, open, seal } from './aead.js';
import { CryptoError, checkLength } from './errors.js';

/** Length of a wrapped 32-byte key. */
export const WRAPPED_KEY_LENGTH = 32 + 32 + AEAD.tag;
const INFO = 'qood/wrap/v1';
const ZERO_NONCE = new Uint8Array(AEAD.nonce);

/** The X25519 public key matching an ed25519 public key. */
export function x25519PublicFromEd25519(edPublicKey: Uint8Array): Uint8Array {
  checkLength(edPublicKey, 32, 'ed25519 public key');
  try {
    return ed25519.utils.toMontgomery(edPublicKey);
  } catch {
    throw new CryptoError('BAD_KEY', 'ed25519 public key', 'not a point on the curve');
  }
}

/** The X25519 secret key matching an ed25519 secret key (the clamped hash of the seed). */
export function x25519SecretFromEd25519(edSecretKey: Uint8Array): Uint8Array {
  checkLength(edSecretKey, 32, 'ed25519 secret key');
  return ed25519.utils.toMontgomerySecret(edSecretKey);
}

/** The X25519 public key of an X25519 secret key. */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  checkLength(secretKey, 32, 'x25519 secret key');
  return x25519.getPublicKey(secretKey);
}

/** X25519(secret, publicKey); throws CryptoError('LOW_ORDER_POINT') for a degenerate result. */
export function x25519SharedSecret(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let s: Uint8Array;
  try {
    s = x25519.getSharedSecret(secret, publicKey);
  } catch {
    throw new CryptoError(
      'LOW_ORDER_POINT',
      'x25519 public key',
      'shared secret is all zeros (low-order point)',
    );
  }
  if (s.every((b) => b === 0))
    throw new CryptoError(
      'LOW_ORDER_POINT',
      'x25519 public key',
      'shared secret is all zeros (low-order point)',
    );
  return s;
}

/**
 * Wraps a 32-byte key to `recipientX25519` (see x25519PublicFromEd25519). `ephemeralSecret` is for
 * test vectors only; leave it out and a fresh random one is used.
 */
export function wrapKey(
  dataKey: Uint8Array,
  recipientX25519: Uint8Array,
  context: Uint8Array = new Uint8Array(0),
  ephemeralSecret: Uint8Array = new Uint8Array(randomBytes(32)),
): Uint8Array {
  checkLength(dataKey, 32, 'data key');
  return wrapBytes(dataKey, recipientX25519, context, ephemeralSecret);
}

/**
 * Unwraps with the recipient's X25519 secret key. Throws CryptoError: BAD_LENGTH for a malformed
 * wrap, LOW_ORDER_POINT for a degenerate ephemeral key, AUTH_FAILED for the wrong recipient or context.
 */
export function unwrapKey(
  wrapped: Uint8Array,
  recipientSecret: Uint8Array,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  checkLength(wrapped, WRAPPED_KEY_LENGTH, 'wrapped key');
  return unwrapBytes(wrapped, recipientSecret, context);
}

/**
 * The same construction for a payload of any length (a key bundle): ephemeralPublic || sealed
 * payload, 48 bytes longer than the payload.
 */
export function wrapBytes(
  payload: Uint8Array,
  recipientX25519: Uint8Array,
  context: Uint8Array = new Uint8Array(0),
  ephemeralSecret: Uint8Array = new Uint8Array(randomBytes(32)),
): Uint8Array {
  checkLength(recipientX25519, 32, 'recipient x25519 public key');
  const ephPublic = x25519PublicKey(ephemeralSecret);
  const kek = wrapKek(x25519SharedSecret(ephemeralSecret, recipientX25519), ephPublic, recipientX25519);
  const sealed = seal(kek, ZERO_NONCE, payload, context);
  const out = new Uint8Array(32 + sealed.length);
  out.set(ephPublic, 0);
  out.set(sealed, 32);
  return out;
}

/** Opens `wrapBytes`; the same errors as unwrapKey. */
export function unwrapBytes(
  wrapped: Uint8Array,
  recipientSecret: Uint8Array,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (wrapped.length < 32 + AEAD.tag)
    throw new CryptoError(
      'BAD_LENGTH',
      'wrapped bytes',
      `expected at least ${32 + AEAD.tag} bytes, got ${wrapped.length}`,
    );
  checkLength(recipientSecret, 32, 'x25519 secret key');
  const ephPublic = wrapped.subarray(0, 32);
  const kek = wrapKek(
    x25519SharedSecret(recipientSecret, ephPublic),
    ephPublic,
    x25519PublicKey(recipientSecret),
  );
  return open(kek, ZERO_NONCE, wrapped.subarray(32), context);
}

function wrapKek(shared: Uint8Array, ephPublic: Uint8Array, recipientX25519: Uint8Array): Uint8Array {
  const salt = new Uint8Array(64);
  salt.set(ephPublic, 0);
  salt.set(recipientX25519, 32);
  return hkdf(shared, salt, INFO, 32);
}
