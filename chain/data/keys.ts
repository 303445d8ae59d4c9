/**
 * Key derivation, one way from the owner's seed (ARCHITECTURE.md, "Keys"):
 *
 *   seed          = BIP-39 (24 English words, PBKDF2-HMAC-SHA512, 2048 rounds) -> 64 bytes
 *   owner identity = ed25519 secret HKDF(seed, SALT, "qood/owner-identity/v1")
 *   data root      = HKDF(seed, SALT, "qood/vehicle-root/v1" | vehicleId)     one per vehicle
 *   owner key      = HKDF(root, SALT, "qood/chunk-key/v1" | stream | epoch)   per stream and epoch
 *   OEM key        = HKDF(X25519(device, OEM), SALT, "qood/oem-key/v1" | vehicle | stream | epoch)
 *   disputed key   = HKDF(owner key || OEM key, SALT, "qood/disputed-key/v1" | stream | epoch)
 *
 * These are the epoch keys a buyer is sold. No chunk is sealed under one directly: each chunk's key
 * is derived from its epoch key with the device key and a random salt (sealed-chunk.ts `chunkKey`),
 * so chunks from two devices of a vehicle, or from a store that started again, never share a key.
 *
 * HKDF is one way, so no derived key reveals the seed or a sibling. The OEM key is an X25519 secret
 * between the device and the carmaker: the carmaker derives it with its own secret key and the
 * device's public key; the owner cannot, which is what "sealed under the OEM key" means. A disputed
 * key needs both the owner's part and the OEM's part. Every `|` above is canonical CBOR, so no two
 * different inputs run together (vectors in test/vectors/keys.json).
 */
import { generateMnemonic as bip39Generate, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { encodeCanonical } from '../codec/canonical.js';
import { hkdf } from '../crypto/aead.js';
import { getPublicKey } from '../crypto/ed25519.js';
import {
  x25519PublicFromEd25519,
  x25519SecretFromEd25519,
  x25519SharedSecret,
} from '../crypto/x25519-wrap.js';

const SALT = new TextEncoder().encode('qood/v1');

/** A seed phrase that does not check out: which word, or the checksum. */
export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

/** A new 24-word seed phrase from the system's randomness. */
export function generateMnemonic(): string {
  return bip39Generate(wordlist, 256);
}

/** The 64-byte seed of a phrase; throws SeedError naming the first unknown word or a bad checksum. */
export function seedFromMnemonic(mnemonic: string, passphrase = ''): Uint8Array {
  const words = mnemonic.trim().toLowerCase().split(/\s+/);
  const unknown = words.findIndex((w) => !wordlist.includes(w));
  if (unknown >= 0)
    throw new SeedError(
      `seed phrase: word ${unknown + 1} ('${words[unknown]}') is not a BIP-39 English word`,
    );
  if (![12, 15, 18, 21, 24].includes(words.length))
    throw new SeedError(`seed phrase: ${words.length} words; expected 12, 15, 18, 21 or 24`);
  if (!validateMnemonic(words.join(' '), wordlist))
    throw new SeedError('seed phrase: the checksum does not match (a word is wrong or out of order)');
  return mnemonicToSeedSync(words.join(' '), passphrase);
}

const info = (...parts: (string | number)[]) => encodeCanonical(parts);

/** The owner's identity key pair (signs bindings, grants and chain transactions). */
export function ownerIdentity(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = hkdf(seed, SALT, info('qood/owner-identity/v1'), 32);
  return { secretKey, publicKey: getPublicKey(secretKey) };
}

/** A vehicle's data root: every owner-class chunk key of the vehicle derives from it. */
export function vehicleDataRoot(seed: Uint8Array, vehicleId: string): Uint8Array {
  return hkdf(seed, SALT, info('qood/vehicle-root/v1', vehicleId), 32);
}

/** The owner-class key of a stream in an epoch. */
export function ownerEpochKey(dataRoot: Uint8Array, stream: string, epoch: number): Uint8Array {
  return hkdf(dataRoot, SALT, info('qood/chunk-key/v1', stream, epoch), 32);
}

/**
 * The OEM-class key of a stream in an epoch. The device calls it with its ed25519 secret and the
 * OEM's ed25519 public key; the OEM with its secret and the device's public key: same key.
 */
export function oemEpochKey(
  mySecretEd25519: Uint8Array,
  theirPublicEd25519: Uint8Array,
  vehicleId: string,
  stream: string,
  epoch: number,
): Uint8Array {
  const shared = x25519SharedSecret(
    x25519SecretFromEd25519(mySecretEd25519),
    x25519PublicFromEd25519(theirPublicEd25519),
  );
  return hkdf(shared, SALT, info('qood/oem-key/v1', vehicleId, stream, epoch), 32);
}

/** The disputed-class key: both parties' parts are needed. */
export function disputedEpochKey(
  ownerPart: Uint8Array,
  oemPart: Uint8Array,
  stream: string,
  epoch: number,
): Uint8Array {
  const ikm = new Uint8Array(64);
  ikm.set(ownerPart, 0);
  ikm.set(oemPart, 32);
  return hkdf(ikm, SALT, info('qood/disputed-key/v1', stream, epoch), 32);
}

/** The key epoch of a time: epochs are `epochLengthS` long, counted from the Unix epoch. */
export function keyEpochOf(tUs: number, epochLengthS: number): number {
  return Math.floor(tUs / 1e6 / epochLengthS);
}
