/**
 * Typed readers for decoded canonical values: each checks one field of a positional structure and
 * throws CodecError('SHAPE') naming the field's path (`tx[3].amount`) and what was expected.
 */
import { type CanonicalValue, CodecError } from './canonical.js';

/** The value as an array of exactly `length` items (or any length when omitted). */
export function readArray(
  v: CanonicalValue | undefined,
  path: string,
  length?: number,
): readonly CanonicalValue[] {
  if (!Array.isArray(v)) throw new CodecError('SHAPE', path, `expected an array, got ${describe(v)}`);
  if (length !== undefined && v.length !== length)
    throw new CodecError('SHAPE', path, `expected ${length} items, got ${v.length}`);
  return v;
}

/** The value as bytes of exactly `length` bytes (or at most `maxLength`). */
export function readBytes(
  v: CanonicalValue | undefined,
  path: string,
  length?: number,
  maxLength?: number,
): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new CodecError('SHAPE', path, `expected bytes, got ${describe(v)}`);
  if (length !== undefined && v.length !== length)
    throw new CodecError('SHAPE', path, `expected ${length} bytes, got ${v.length}`);
  if (maxLength !== undefined && v.length > maxLength)
    throw new CodecError('SHAPE', path, `expected at most ${maxLength} bytes, got ${v.length}`);
  return v;
}

/** The value as a non-negative safe integer no larger than `max`. */
export function readUint(v: CanonicalValue | undefined, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || v < 0 || v > max)
    throw new CodecError('SHAPE', path, `expected an integer in 0..${max}, got ${describe(v)}`);
  return v;
}

/** The value as a non-negative integer below 2^64, returned as a bigint (token amounts). */
export function readAmount(v: CanonicalValue | undefined, path: string): bigint {
  if (typeof v === 'number' && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v;
  throw new CodecError('SHAPE', path, `expected an amount (integer >= 0), got ${describe(v)}`);
}

/** The value as a text string of at most `maxLength` UTF-8 bytes. */
export function readText(v: CanonicalValue | undefined, path: string, maxLength = 256): string {
  if (typeof v !== 'string') throw new CodecError('SHAPE', path, `expected text, got ${describe(v)}`);
  if (Buffer.byteLength(v) > maxLength)
    throw new CodecError('SHAPE', path, `expected at most ${maxLength} bytes of text`);
  return v;
}

/** The value as a boolean. */
export function readBool(v: CanonicalValue | undefined, path: string): boolean {
  if (typeof v !== 'boolean') throw new CodecError('SHAPE', path, `expected a boolean, got ${describe(v)}`);
  return v;
}

/** A short description of a decoded value for error messages. */
export function describe(v: CanonicalValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return 'text';
  return `${typeof v} ${String(v)}`;
}
