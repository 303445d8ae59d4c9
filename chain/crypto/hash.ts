/**
 * SHA-256 (node:crypto, about a million short hashes a second here) and domain-separated hashing:
 * every kind of hashed object is prefixed with its own tag so a hash of one kind can never be
 * passed off as another (a transaction id as a header id, a Merkle leaf as a node).
 */
import { createHash } from 'node:crypto';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const tagCache = new Map<string, Uint8Array>();

/**
 * SHA-256 of `tag`'s UTF-8 bytes, a zero byte, then `parts`. Tags are fixed strings such as
 * `qood/tx/v1`; the zero byte keeps a tag from being a prefix of another tag plus data.
 */
export function taggedHash(tag: string, ...parts: readonly Uint8Array[]): Uint8Array {
  let prefix = tagCache.get(tag);
  if (prefix === undefined) {
    prefix = new Uint8Array([...Buffer.from(tag, 'utf8'), 0]);
    tagCache.set(tag, prefix);
  }
  return sha256(prefix, ...parts);
}

/** Constant-time equality of two byte strings (false when lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Bytes of a hex string; throws RangeError on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new RangeError(`not hex: ${hex.slice(0, 16)}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
