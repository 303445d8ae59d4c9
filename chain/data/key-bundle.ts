/**
 * Key bundles: how a sale delivers keys ("encrypt once, authorise many"). A descriptor's chunks are
 * sealed under per-stream, per-epoch keys; the seller lists the keys the descriptor needs and wraps
 * the list to the buyer's account key (chain/crypto/x25519-wrap `wrapBytes`), bound to the order id.
 * Nothing is re-encrypted. The sale is commit-then-reveal (chain/state/apply-market.ts): the `fill`
 * carries only `fillCommitment(orderId, wrapped)` and pays; the wrapped bundle itself goes out in a
 * `reveal` once the fill is final.
 *
 *   bundle    = [1, [[stream, dataClass, epoch, key (32)], ...]]    (canonical CBOR, sorted, unique)
 *   wrapped   = wrapBytes(bundle, x25519(buyer), context = orderId, ephemeral)
 *   ephemeral = HKDF-SHA256(ikm = seller's ed25519 secret key, salt = orderId,
 *                           info = "qood/sale-wrap/v1" || buyer key (32) || SHA-256(bundle))
 *
 * A seller that passes its secret key (the device always does) gets the same wrapped bytes every
 * time for the same order, buyer and keys, so it can make again the bundle a fill committed to
 * after losing the copy it kept (a store moved aside as corrupt, a replaced SD card) and still
 * reveal it: a paid sale never loses its keys. The wire layout is that of any wrap.
 *
 * A bundle of 30 stream-epochs is about 2 KiB wrapped; `MAX_KEY_BUNDLE_BYTES` bounds a fill.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { hkdf } from '../crypto/aead.js';
import { fromHex, sha256, taggedHash } from '../crypto/hash.js';
import {
  unwrapBytes,
  wrapBytes,
  x25519PublicFromEd25519,
  x25519SecretFromEd25519,
} from '../crypto/x25519-wrap.js';
import { CHUNK_DATA_CLASSES, type ChunkDataClass } from './sealed-chunk.js';

/** The largest wrapped bundle a `reveal` may carry. */
export const MAX_KEY_BUNDLE_BYTES = 16 * 1024;

/**
 * What a `fill` commits to: taggedHash("qood/fill-commit/v1", canonical [orderId (32), wrapped]).
 * It says nothing about the keys (the wrap is encrypted to the buyer, under an ephemeral key nobody
 * else can derive); the `reveal` must carry bytes with this hash.
 */
export function fillCommitment(orderId: Uint8Array, wrapped: Uint8Array): Uint8Array {
  return taggedHash('qood/fill-commit/v1', encodeCanonical([orderId, wrapped]));
}
const BUNDLE_VERSION = 1;

/** One key of a bundle: what decrypts the chunks of `stream` and `dataClass` in `epoch`. */
export interface BundleKey {
  readonly stream: string;
  readonly dataClass: ChunkDataClass;
  readonly epoch: number;
  readonly key: Uint8Array;
}

/** Looks a key up in an opened bundle (the KeyLookup shape verifyBatch takes). */
export type BundleLookup = (stream: string, dataClass: string, epoch: number) => Uint8Array | undefined;

const slot = (stream: string, dataClass: string, epoch: number) =>
  `${dataClass}\u0000${stream}\u0000${epoch}`;

/** Domain tag of the ephemeral key a seller derives for one order's wrap. */
const SALE_WRAP_INFO = 'qood/sale-wrap/v1';

/**
 * Wraps `keys` to the buyer's ed25519 account key for order `orderId` (32 bytes). With
 * `sellerSecretKey` (the seller's ed25519 secret key) the wrap is deterministic (see the top of the
 * file); without it the ephemeral key is random.
 */
export function sealKeyBundle(
  keys: readonly BundleKey[],
  buyerPublicKey: Uint8Array,
  orderId: Uint8Array,
  sellerSecretKey?: Uint8Array,
): Uint8Array {
  const unique = new Map<string, BundleKey>();
  for (const k of keys) unique.set(slot(k.stream, k.dataClass, k.epoch), k);
  const rows = [...unique.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, k]): CanonicalValue => [k.stream, CHUNK_DATA_CLASSES.indexOf(k.dataClass), k.epoch, k.key]);
  const bundle = encodeCanonical([BUNDLE_VERSION, rows]);
  const recipient = x25519PublicFromEd25519(buyerPublicKey);
  const wrapped =
    sellerSecretKey === undefined
      ? wrapBytes(bundle, recipient, orderId)
      : wrapBytes(
          bundle,
          recipient,
          orderId,
          saleEphemeral(sellerSecretKey, orderId, buyerPublicKey, bundle),
        );

  if (wrapped.length > MAX_KEY_BUNDLE_BYTES)
    throw new CodecError(
      'SHAPE',
      'keyBundle',
      `${unique.size} keys make ${wrapped.length} bytes, more than ${MAX_KEY_BUNDLE_BYTES}`,
    );
  return wrapped;
}

/**
 * The ephemeral X25519 secret of a deterministic sale wrap. Deriving it instead of drawing it is
 * safe: the wrap seals under a zero nonce with a key from X25519(ephemeral, buyer), so what must
 * never happen is one ephemeral key sealing two different plaintexts to one buyer. The derivation
 * binds the order id, the buyer's key and the hash of the bundle itself, so a repeat is exactly
 * the same plaintext to the same buyer for the same order, and yields the same bytes (nothing new
 * to compare); any other bundle, buyer or order gets an unrelated key. It is secret because it
 * comes from the seller's secret key (HKDF is a PRF in its key), so nobody else can derive it and
 * open the wrap; and a sale has one wrap per order (one fill, one commitment).
 */
function saleEphemeral(
  sellerSecretKey: Uint8Array,
  orderId: Uint8Array,
  buyerPublicKey: Uint8Array,
  bundle: Uint8Array,
): Uint8Array {
  const info = new Uint8Array(SALE_WRAP_INFO.length + 64);
  info.set(new TextEncoder().encode(SALE_WRAP_INFO), 0);
  info.set(buyerPublicKey, SALE_WRAP_INFO.length);
  info.set(sha256(bundle), SALE_WRAP_INFO.length + 32);
  return hkdf(sellerSecretKey, orderId, info, 32);
}

/**
 * Opens a bundle with the buyer's ed25519 secret key. Throws CryptoError (AUTH_FAILED: not for this
 * buyer or this order) or CodecError (a bundle that does not decode).
 */
export function openKeyBundle(
  wrapped: Uint8Array,
  buyerSecretKey: Uint8Array,
  orderId: Uint8Array,
): BundleKey[] {
  const bytes = unwrapBytes(wrapped, x25519SecretFromEd25519(buyerSecretKey), orderId);
  const top = readArray(decodeCanonical(bytes), 'keyBundle', 2);
  if (readUint(top[0], 'keyBundle.version') !== BUNDLE_VERSION)
    throw new CodecError('SHAPE', 'keyBundle.version', `expected ${BUNDLE_VERSION}`);
  return readArray(top[1], 'keyBundle.keys').map((row, i) => {
    const p = `keyBundle.keys[${i}]`;
    const a = readArray(row, p, 4);
    const cls = CHUNK_DATA_CLASSES[readUint(a[1], `${p}.dataClass`, CHUNK_DATA_CLASSES.length - 1)]!;
    return {
      stream: readText(a[0], `${p}.stream`),
      dataClass: cls,
      epoch: readUint(a[2], `${p}.epoch`),
      key: readBytes(a[3], `${p}.key`, 32),
    };
  });
}

/** A lookup over opened keys. */
export function bundleLookup(keys: readonly BundleKey[]): BundleLookup {
  const m = new Map(keys.map((k) => [slot(k.stream, k.dataClass, k.epoch), k.key]));
  return (stream, dataClass, epoch) => m.get(slot(stream, dataClass, epoch));
}

/** The order id bytes a bundle is bound to. */
export const orderContext = (orderIdHex: string): Uint8Array => fromHex(orderIdHex);
