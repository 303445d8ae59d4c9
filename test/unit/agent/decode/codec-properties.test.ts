import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSignal, type DbcSignal } from '../../../../agent/decode/can/index.js';

/** A signal laid out anywhere in an 8..64-byte payload, little or big endian, signed or not. */
const signalArb = fc
  .record({
    length: fc.integer({ min: 1, max: 64 }),
    byteOrder: fc.constantFrom('little' as const, 'big' as const),
    signed: fc.boolean(),
    payload: fc.constantFrom(8, 16, 64),
    seed: fc.nat(),
  })
  .map(({ length, byteOrder, signed, payload, seed }) => {
    const bits = payload * 8;
    // Pick a start bit so the whole signal fits.
    let startBit: number;
    if (byteOrder === 'little') startBit = seed % (bits - length + 1);
    else {
      // Big-endian start is the MSB in sawtooth numbering; the LSB lands `length - 1` bits later in
      // byte-major order. Choose the MSB's linear position, then convert.
      const linear = seed % (bits - length + 1);
      startBit = (linear >> 3) * 8 + (7 - (linear & 7));
    }
    const s: DbcSignal = {
      name: 'S',
      startBit,
      length,
      byteOrder,
      signed,
      valueType: 'int',
      factor: 1,
      offset: 0,
      minimum: 0,
      maximum: 0,
      unit: '',
      receivers: [],
      isMultiplexer: false,
      line: 1,
    };
    return { s, payload };
  });

describe('signal codec', () => {
  it('decodes what it encodes, for any layout and raw value (BigInt exact up to 64 bits)', () => {
    fc.assert(
      fc.property(signalArb, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), ({ s, payload }, r) => {
        const codec = compileSignal(s);
        const span = 1n << BigInt(s.length);
        let raw = r % span;
        if (s.signed && raw >= span / 2n) raw -= span;
        const data = new Uint8Array(payload);
        codec.encodeRaw(data, raw);
        expect(codec.decodeRawBig(data)).toBe(raw);
        if (s.length <= 52) expect(codec.decodeRaw(data)).toBe(Number(raw));
      }),
      { numRuns: 3000 },
    );
  });

  it('touches only its own bits', () => {
    fc.assert(
      fc.property(signalArb, fc.uint8Array({ minLength: 64, maxLength: 64 }), ({ s, payload }, noise) => {
        const codec = compileSignal(s);
        const a = noise.slice(0, payload);
        const b = a.slice();
        codec.encodeRaw(b, 0n);
        codec.encodeRaw(b, codec.decodeRawBig(a));
        expect(b).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('scales physical values and clamps what does not fit the raw range', () => {
    const s: DbcSignal = {
      name: 'Temp',
      startBit: 0,
      length: 8,
      byteOrder: 'little',
      signed: false,
      valueType: 'int',
      factor: 0.5,
      offset: -40,
      minimum: -40,
      maximum: 87.5,
      unit: 'degC',
      receivers: [],
      isMultiplexer: false,
      line: 1,
    };
    const c = compileSignal(s);
    const d = new Uint8Array(8);
    c.encode(d, 21.5);
    expect(d[0]).toBe(123);
    expect(c.decode(d)).toBe(21.5);
    c.encode(d, 1000);
    expect(d[0]).toBe(255);
    c.encode(d, -1000);
    expect(d[0]).toBe(0);
  });

  it('round-trips IEEE single and double signals', () => {
    const base = {
      name: 'F',
      startBit: 0,
      byteOrder: 'little' as const,
      signed: false,
      factor: 1,
      offset: 0,
      minimum: 0,
      maximum: 0,
      unit: '',
      receivers: [],
      isMultiplexer: false,
      line: 1,
    };
    const f32 = compileSignal({ ...base, length: 32, valueType: 'float32' });
    const f64 = compileSignal({ ...base, length: 64, valueType: 'float64' });
    const d = new Uint8Array(8);
    f32.encode(d, 129.5);
    expect(f32.decode(d)).toBe(129.5);
    f64.encode(d, -129.448);
    expect(f64.decode(d)).toBe(-129.448);
  });
});
