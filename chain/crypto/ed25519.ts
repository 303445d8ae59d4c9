/**
 * Ed25519 signatures (RFC 8032). Signing and verifying go through node:crypto's OpenSSL, which gives
 * the same bytes as @noble/curves and is 10-20 times faster here (see test/bench/chain-crypto.bench.ts);
 * @noble/curves derives public keys and is the cross-check in the tests.
 *
 * Verification is the stricter of the two libraries on each point, so consensus rests on one rule:
 * - the equation is OpenSSL's cofactorless [S]B = R + [k]A (RFC 8032 §5.1.7 without the cofactor);
 *   noble checks the cofactored [8][S]B = [8]R + [8][k]A, which also accepts an R with a small-order
 *   component;
 * - S must be below the group order (both; no malleability) and R must be the canonical encoding
 *   (OpenSSL re-encodes R and compares bytes);
 * - the public key must be a canonical encoding (y < p, no negative zero) of a point that is not of
 *   small order. noble's strict mode rejects these; OpenSSL alone accepts them, and with a small-order
 *   key a signature of R = identity, S = 0 verifies for any message. Checked here before OpenSSL.
 * test/unit/chain/crypto.test.ts pins each of these cases. All nodes verify the same way, which is
 * what consensus needs.
 *
 * Secret keys are the 32-byte RFC 8032 seed; public keys 32 bytes; signatures 64 bytes.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { ED25519_TORSION_SUBGROUP, ed25519 as noble } from '@noble/curves/ed25519.js';
import { CryptoError, checkLength } from './errors.js';

/** Lengths in bytes. */
export const ED25519 = { secretKey: 32, publicKey: 32, signature: 64 } as const;

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Verifying keys parsed recently, keyed by their hex; bounded so hostile input cannot grow it. */
const publicKeys = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE = 4096;

/**
 * Encodings refused as public keys though OpenSSL would take them: the 8 points of small order and
 * the two non-canonical "negative zero" encodings (x = 0 with the sign bit set, y = 1 and y = -1).
 */
const WEAK_KEYS = new Set([
  ...ED25519_TORSION_SUBGROUP,
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
]);

/** True for a 32-byte encoding whose y (the low 255 bits, little-endian) is at least p = 2^255 - 19. */
function nonCanonicalY(b: Uint8Array): boolean {
  if ((b[31]! & 0x7f) !== 0x7f || b[0]! < 0xed) return false;
  for (let i = 1; i < 31; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** True when `publicKey` may sign: canonical and not of small order (see the module comment). */
export function strictPublicKey(publicKey: Uint8Array): boolean {
  return !nonCanonicalY(publicKey) && !WEAK_KEYS.has(Buffer.from(publicKey).toString('hex'));
}

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  const id = Buffer.from(publicKey).toString('base64url');
  let k = publicKeys.get(id);
  if (k !== undefined) return k;
  if (!strictPublicKey(publicKey)) return undefined;
  try {
    k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value!);
  publicKeys.set(id, k);
  return k;
}

/** The public key of a 32-byte secret key. */
export function getPublicKey(secretKey: Uint8Array): Uint8Array {
  checkLength(secretKey, ED25519.secretKey, 'ed25519 secret key');
  return noble.getPublicKey(secretKey);
}

/**
 * A signer holding the parsed private key, for callers that sign many messages (a producer, a device
 * sealing chunks): parsing the key costs more than signing.
 */
export class Ed25519Signer {
  /** The signer's public key. */
  readonly publicKey: Uint8Array;
  readonly #key: KeyObject;

  constructor(secretKey: Uint8Array) {
    checkLength(secretKey, ED25519.secretKey, 'ed25519 secret key');
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    this.publicKey = getPublicKey(secretKey);
  }
  /** The 64-byte signature of `message`. */
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.#key));
  }
}

/** The 64-byte signature of `message` under `secretKey` (deterministic, RFC 8032). */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Ed25519Signer(secretKey).sign(message);
}

/**
 * True when `signature` is valid for `message` under `publicKey`. Wrong lengths and keys that are
 * not curve points give false, never an exception: the input is untrusted.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519.signature || publicKey.length !== ED25519.publicKey) return false;
  const k = publicKeyObject(publicKey);
  if (k === undefined) return false;
  try {
    return nodeVerify(null, message, k, signature);
  } catch {
    return false;
  }
}

/** The pure-JS verifier (@noble/curves, RFC 8032 strict mode): the cross-check and the bench floor. */
export function verifyNoble(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return noble.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Throws CryptoError('BAD_KEY') unless `publicKey` is a valid ed25519 point encoding. */
export function checkPublicKey(publicKey: Uint8Array): void {
  checkLength(publicKey, ED25519.publicKey, 'ed25519 public key');
  if (!noble.utils.isValidPublicKey(publicKey))
    throw new CryptoError('BAD_KEY', 'ed25519 public key', 'not a point on the curve');
}
