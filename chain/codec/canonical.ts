/**
 * Canonical CBOR (RFC 8949 §4.2.1, "core deterministic encoding") for everything the chain signs or
 * hashes. Structures are positional arrays, so there are no map keys to order; the data model is
 * deliberately small: integers (JS safe integers or bigints within 64 bits), byte strings, UTF-8 text,
 * booleans, null and arrays.
 *
 * Decoding rejects anything that is not the one canonical encoding of its value: integers and lengths
 * not in their shortest form, indefinite lengths, maps, tags, floats, simple values other than
 * false/true/null, invalid UTF-8 and trailing bytes. Two byte strings that decode are therefore equal
 * exactly when their values are, which is what makes "hash of the encoding" a sound identity.
 *
 * This is our own encoder rather than cbor-x because cbor-x writes `1n` as an 8-byte integer and
 * 2^40 as a float64 and accepts non-minimal input; the tests cross-check both directions against
 * cbor-x on every value of the data model.
 */

/** A value of the canonical data model. Maps are not part of it: structures are positional arrays. */
export type CanonicalValue =
  | number
  | bigint
  | Uint8Array
  | string
  | boolean
  | null
  | readonly CanonicalValue[];

export type CodecErrorCode =
  | 'NON_CANONICAL'
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'UNSUPPORTED'
  | 'INVALID_UTF8'
  | 'TOO_DEEP'
  | 'OUT_OF_RANGE'
  | 'SHAPE';

/** A value that cannot be encoded, or bytes that are not canonical CBOR of the data model. */
export class CodecError extends Error {
  constructor(
    readonly code: CodecErrorCode,
    /** Byte offset in the input for decode errors; a path such as `[2][0]` for shape errors. */
    readonly at: number | string,
    message: string,
  ) {
    super(`${typeof at === 'number' ? `offset ${at}` : at || 'top'}: ${message}`);
    this.name = 'CodecError';
  }
}

/** Arrays nested deeper than this are rejected on decode (bounded recursion on hostile input). */
export const MAX_DEPTH = 32;
const MAX_U64 = (1n << 64n) - 1n;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Writer {
  buf = new Uint8Array(256);
  len = 0;
  #room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  head(major: number, arg: number | bigint): void {
    const m = major << 5;
    if (typeof arg === 'number' && arg < 24) {
      this.#room(1);
      this.buf[this.len++] = m | arg;
    } else if (typeof arg === 'number' && arg < 0x100) {
      this.#room(2);
      this.buf[this.len++] = m | 24;
      this.buf[this.len++] = arg;
    } else if (typeof arg === 'number' && arg < 0x10000) {
      this.#room(3);
      this.buf[this.len++] = m | 25;
      this.buf[this.len++] = arg >> 8;
      this.buf[this.len++] = arg & 0xff;
    } else if (typeof arg === 'number' && arg < 0x100000000) {
      this.#room(5);
      this.buf[this.len++] = m | 26;
      new DataView(this.buf.buffer).setUint32(this.len, arg);
      this.len += 4;
    } else {
      const big = BigInt(arg);
      if (big < 0x100000000n) {
        this.head(major, Number(big));
        return;
      }
      this.#room(9);
      this.buf[this.len++] = m | 27;
      new DataView(this.buf.buffer).setBigUint64(this.len, big);
      this.len += 8;
    }
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

function write(w: Writer, v: CanonicalValue, path: string): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new CodecError('UNSUPPORTED', path, `${v} is not a safe integer`);
    if (v >= 0) w.head(0, v);
    else w.head(1, -1 - v);
  } else if (typeof v === 'bigint') {
    if (v > MAX_U64 || v < -MAX_U64 - 1n)
      throw new CodecError('OUT_OF_RANGE', path, `${v} does not fit in 64 bits`);
    if (v >= 0n) w.head(0, v);
    else w.head(1, -1n - v);
  } else if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
  } else if (typeof v === 'string') {
    const b = utf8.encode(v);
    w.head(3, b.length);
    w.bytes(b);
  } else if (Array.isArray(v)) {
    w.head(4, v.length);
    for (let i = 0; i < v.length; i++) write(w, v[i] as CanonicalValue, `${path}[${i}]`);
  } else if (v === false) w.head(7, 20);
  else if (v === true) w.head(7, 21);
  else if (v === null) w.head(7, 22);
  else throw new CodecError('UNSUPPORTED', path, `a ${typeof v} is not in the canonical data model`);
}

/** Encodes a value canonically. Throws CodecError for values outside the data model. */
export function encodeCanonical(value: CanonicalValue): Uint8Array {
  const w = new Writer();
  write(w, value, '');
  return w.buf.slice(0, w.len);
}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  need(n: number, at: number): void {
    if (this.pos + n > this.b.length)
      throw new CodecError('TRUNCATED', at, `needs ${n} more byte(s), ${this.b.length - this.pos} left`);
  }
  /** Reads an initial byte's argument, enforcing the shortest form. */
  arg(info: number, at: number): number | bigint {
    if (info < 24) return info;
    const dv = new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    let v: number | bigint;
    let min: number | bigint;
    if (info === 24) {
      this.need(1, at);
      v = this.b[this.pos]!;
      min = 24;
      this.pos += 1;
    } else if (info === 25) {
      this.need(2, at);
      v = dv.getUint16(this.pos);
      min = 0x100;
      this.pos += 2;
    } else if (info === 26) {
      this.need(4, at);
      v = dv.getUint32(this.pos);
      min = 0x10000;
      this.pos += 4;
    } else if (info === 27) {
      this.need(8, at);
      v = dv.getBigUint64(this.pos);
      min = 0x100000000n;
      this.pos += 8;
    } else if (info === 31) {
      throw new CodecError('NON_CANONICAL', at, 'indefinite length; expected a definite length');
    } else {
      throw new CodecError('UNSUPPORTED', at, `reserved additional information ${info}`);
    }
    if (v < min) throw new CodecError('NON_CANONICAL', at, `argument ${v} not in its shortest form`);
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    return v;
  }
  length(info: number, at: number): number {
    const n = this.arg(info, at);
    if (typeof n === 'bigint' || n > this.b.length - this.pos)
      throw new CodecError('TRUNCATED', at, `length ${n} exceeds the ${this.b.length - this.pos} bytes left`);
    return n;
  }
}

function read(r: Reader, depth: number): CanonicalValue {
  const at = r.pos;
  r.need(1, at);
  const ib = r.b[r.pos++]!;
  const major = ib >> 5;
  const info = ib & 0x1f;
  switch (major) {
    case 0:
      return r.arg(info, at);
    case 1: {
      const n = r.arg(info, at);
      if (typeof n === 'number' && n < Number.MAX_SAFE_INTEGER) return -1 - n;
      return -1n - BigInt(n);
    }
    case 2: {
      const n = r.length(info, at);
      r.pos += n;
      return r.b.slice(r.pos - n, r.pos);
    }
    case 3: {
      const n = r.length(info, at);
      r.pos += n;
      try {
        return utf8Strict.decode(r.b.subarray(r.pos - n, r.pos));
      } catch {
        throw new CodecError('INVALID_UTF8', at, 'text string is not valid UTF-8');
      }
    }
    case 4: {
      if (depth >= MAX_DEPTH) throw new CodecError('TOO_DEEP', at, `arrays nested deeper than ${MAX_DEPTH}`);
      const n = r.length(info, at);
      const out: CanonicalValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = read(r, depth + 1);
      return out;
    }
    case 5:
      throw new CodecError('UNSUPPORTED', at, 'map; structures are positional arrays');
    case 6:
      throw new CodecError('UNSUPPORTED', at, 'tag; the data model has no tags');
    default:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 24 && r.b[r.pos] !== undefined && r.b[r.pos]! < 32)
        throw new CodecError('NON_CANONICAL', at, 'simple value in two bytes');
      throw new CodecError('UNSUPPORTED', at, `major type 7 value ${info}; expected false, true or null`);
  }
}

/** Decodes exactly one canonical value filling `bytes`; throws CodecError naming the offset. */
export function decodeCanonical(bytes: Uint8Array): CanonicalValue {
  const r = new Reader(bytes);
  const v = read(r, 0);
  if (r.pos !== bytes.length)
    throw new CodecError('TRAILING_BYTES', r.pos, `${bytes.length - r.pos} byte(s) after the value`);
  return v;
}
