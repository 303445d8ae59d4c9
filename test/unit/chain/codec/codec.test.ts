import { decode as cborxDecode, Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalValue,
  CodecError,
  decodeCanonical,
  encodeCanonical,
  readAmount,
  readArray,
  readBytes,
} from '../../../../chain/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const codeOf = (h: string): string => {
  try {
    decodeCanonical(bytes(h));
    return 'accepted';
  } catch (e) {
    if (e instanceof CodecError) return `${e.code}@${e.at}`;
    throw e;
  }
};

/** Values of the data model; integers as numbers when safe (what the decoder returns). */
const value: fc.Arbitrary<CanonicalValue> = fc.letrec<{ v: CanonicalValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.maxSafeInteger(),
    fc
      .bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n })
      .filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 5 }),
  ),
})).v;

describe('canonical CBOR', () => {
  it('encodes integers in their shortest form at every boundary (RFC 8949 §4.2.1)', () => {
    const cases: [CanonicalValue, string][] = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [2 ** 32 - 1, '1affffffff'],
      [2 ** 32, '1b0000000100000000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      [(1n << 64n) - 1n, '1bffffffffffffffff'],
      [-1, '20'],
      [-24, '37'],
      [-25, '3818'],
      [-(2 ** 32) - 1, '3b0000000100000000'],
      [-(1n << 64n), '3bffffffffffffffff'],
      [1n, '01'],
      [1000n, '1903e8'],
    ];
    for (const [v, h] of cases) expect(hex(encodeCanonical(v)), String(v)).toBe(h);
  });

  it('encodes bytes, text, booleans, null and nested arrays', () => {
    expect(hex(encodeCanonical([Uint8Array.of(1, 2), 'é', true, false, null, []]))).toBe(
      '86420102' + '62c3a9' + 'f5f4f680',
    );
  });

  it('round-trips every value of the data model and agrees with cbor-x both ways', () => {
    const cborx = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false });
    fc.assert(
      fc.property(value, (v) => {
        const enc = encodeCanonical(v);
        expect(decodeCanonical(enc)).toEqual(v);
        // cbor-x reads our bytes as the same value (it returns bigints only above 2^64-ish ranges).
        const viaCborx = cborxDecode(Buffer.from(enc)) as unknown;
        expect(normalise(viaCborx)).toEqual(normalise(v));
        // And re-encoding what cbor-x read gives our bytes back once integers are put in shortest form.
        expect(hex(encodeCanonical(normalise(cborx.decode(Buffer.from(enc))) as CanonicalValue))).toBe(
          hex(enc),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('rejects non-canonical input with the offset and what was expected', () => {
    expect(codeOf('1801')).toBe('NON_CANONICAL@0'); // 1 in two bytes
    expect(codeOf('190017')).toBe('NON_CANONICAL@0');
    expect(codeOf('1a0000ffff')).toBe('NON_CANONICAL@0');
    expect(codeOf('1b00000000ffffffff')).toBe('NON_CANONICAL@0');
    expect(codeOf('8218010102')).toBe('NON_CANONICAL@1'); // inside an array
    expect(codeOf('9f0102ff')).toBe('NON_CANONICAL@0'); // indefinite array
    expect(codeOf('5f4101ff')).toBe('NON_CANONICAL@0'); // indefinite bytes
    expect(codeOf('a10102')).toBe('UNSUPPORTED@0'); // map
    expect(codeOf('c11a514b67b0')).toBe('UNSUPPORTED@0'); // tag
    expect(codeOf('f93c00')).toBe('UNSUPPORTED@0'); // half float
    expect(codeOf('fb3ff0000000000000')).toBe('UNSUPPORTED@0'); // float64
    expect(codeOf('f7')).toBe('UNSUPPORTED@0'); // undefined
    expect(codeOf('62c328')).toBe('INVALID_UTF8@0');
    expect(codeOf('0001')).toBe('TRAILING_BYTES@1');
    expect(codeOf('430102')).toBe('TRUNCATED@0');
    expect(codeOf('8301')).toBe('TRUNCATED@0'); // 3 items cannot fit in 1 byte
    expect(codeOf('824101')).toBe('TRUNCATED@3');
    expect(codeOf('')).toBe('TRUNCATED@0');
    expect(codeOf('1c')).toBe('UNSUPPORTED@0');
    expect(codeOf(`${'81'.repeat(40)}00`)).toBe('TOO_DEEP@32');
    const e = (() => {
      try {
        decodeCanonical(bytes('1801'));
      } catch (err) {
        return err as CodecError;
      }
      return undefined;
    })();
    expect(e?.message).toBe('offset 0: argument 1 not in its shortest form');
  });

  it('never throws anything but CodecError on garbage, and accepts only what it would re-encode identically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        let v: CanonicalValue;
        try {
          v = decodeCanonical(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
          return;
        }
        expect(hex(encodeCanonical(v))).toBe(hex(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses values outside the data model when encoding', () => {
    expect(() => encodeCanonical(1.5)).toThrow(CodecError);
    expect(() => encodeCanonical(1n << 64n)).toThrow(/64 bits/);
    expect(() => encodeCanonical({ a: 1 } as unknown as CanonicalValue)).toThrow(
      /not in the canonical data model/,
    );
    expect(() => encodeCanonical([1, [undefined as unknown as CanonicalValue]])).toThrow(/^\[1\]\[0\]/);
  });

  it('field readers name the path and what was expected', () => {
    const v = decodeCanonical(encodeCanonical([Uint8Array.of(1), -5]));
    const arr = readArray(v, 'tx', 2);
    expect(() => readBytes(arr[0], 'tx[0].to', 32)).toThrow('tx[0].to: expected 32 bytes, got 1');
    expect(() => readAmount(arr[1], 'tx[1].amount')).toThrow(
      'tx[1].amount: expected an amount (integer >= 0), got number -5',
    );
    expect(() => readArray(v, 'tx', 3)).toThrow('tx: expected 3 items, got 2');
  });
});

/** Converts numbers and small bigints alike, so values compare by mathematical integer value. */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER))
    return Number(v);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(normalise);
  return v;
}
