/**
 * Bit-level signal extraction and insertion, compiled once per signal. A signal's bits are split
 * into per-byte segments (byte index, shift, mask, weight), so decoding is a short loop of
 * `((data[byte] >> shift) & mask) * weight` in doubles, exact up to 53 bits. Longer integer
 * signals (up to 64 bits, or IEEE doubles) take a BigInt path. Intel (little-endian) signals start
 * at their least significant bit; Motorola (big-endian) ones at their most significant bit in the
 * DBC's sawtooth numbering (bit 7 of byte 0 is 7, bit 0 of byte 1 is 8).
 */
import type { DbcSignal } from './dbc-types.js';

/** One byte's share of a signal. */
interface Segment {
  readonly byte: number;
  readonly shift: number;
  readonly mask: number;
  /** 2^(position of this segment's lowest bit within the raw value). */
  readonly weight: number;
  readonly weightBig: bigint;
  readonly bitPos: number;
}

/** A compiled signal: raw and physical decode and encode for one signal. */
export interface SignalCodec {
  readonly signal: DbcSignal;
  /** Highest byte index + 1 the signal touches. */
  readonly minBytes: number;
  /** Raw value (two's complement applied for signed; the float itself for IEEE signals). */
  decodeRaw(data: Uint8Array): number;
  /** Raw as BigInt, for signals longer than 52 bits. */
  decodeRawBig(data: Uint8Array): bigint;
  /** Physical value: raw * factor + offset. */
  decode(data: Uint8Array): number;
  /** Writes a physical value into `data` (other bits untouched). Values are rounded and clamped to the raw range. */
  encode(data: Uint8Array, physical: number): void;
  /** Writes a raw value into `data`. */
  encodeRaw(data: Uint8Array, raw: number | bigint): void;
}

function segmentsOf(s: DbcSignal): Segment[] {
  const segs: Segment[] = [];
  if (s.byteOrder === 'little') {
    let pos = s.startBit;
    let acc = 0;
    while (acc < s.length) {
      const byte = pos >> 3;
      const shift = pos & 7;
      const n = Math.min(8 - shift, s.length - acc);
      segs.push({
        byte,
        shift,
        mask: (1 << n) - 1,
        weight: 2 ** acc,
        weightBig: 1n << BigInt(acc),
        bitPos: acc,
      });
      acc += n;
      pos += n;
    }
  } else {
    // Start at the MSB: byte = start>>3, bit = start&7, walking down then to bit 7 of the next byte.
    let byte = s.startBit >> 3;
    let bit = s.startBit & 7;
    let remaining = s.length;
    while (remaining > 0) {
      const n = Math.min(bit + 1, remaining);
      const shift = bit - n + 1;
      remaining -= n;
      segs.push({
        byte,
        shift,
        mask: (1 << n) - 1,
        weight: 2 ** remaining,
        weightBig: 1n << BigInt(remaining),
        bitPos: remaining,
      });
      byte++;
      bit = 7;
    }
  }
  return segs;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Compiles a signal into its codec. */
export function compileSignal(s: DbcSignal): SignalCodec {
  const segs = segmentsOf(s);
  const minBytes = Math.max(...segs.map((g) => g.byte)) + 1;
  const len = s.length;
  const big = len > 52 || s.valueType === 'float64';
  const span = 2 ** len;
  const half = 2 ** (len - 1);
  const spanBig = 1n << BigInt(len);
  const halfBig = 1n << BigInt(len - 1);
  const factor = s.factor;
  const offset = s.offset;

  const rawUnsigned = (data: Uint8Array): number => {
    let v = 0;
    for (let i = 0; i < segs.length; i++) {
      const g = segs[i]!;
      v += ((data[g.byte]! >> g.shift) & g.mask) * g.weight;
    }
    return v;
  };
  const rawUnsignedBig = (data: Uint8Array): bigint => {
    let v = 0n;
    for (const g of segs) v |= BigInt((data[g.byte]! >> g.shift) & g.mask) << BigInt(g.bitPos);
    return v;
  };

  let decodeRaw: (data: Uint8Array) => number;
  if (s.valueType === 'float32') {
    decodeRaw = (data) => {
      u32[0] = rawUnsigned(data);
      return f32[0]!;
    };
  } else if (s.valueType === 'float64') {
    decodeRaw = (data) => {
      u64[0] = rawUnsignedBig(data);
      return f64[0]!;
    };
  } else if (big) {
    decodeRaw = (data) => {
      let v = rawUnsignedBig(data);
      if (s.signed && v >= halfBig) v -= spanBig;
      return Number(v);
    };
  } else if (s.signed) {
    decodeRaw = (data) => {
      const v = rawUnsigned(data);
      return v >= half ? v - span : v;
    };
  } else {
    decodeRaw = rawUnsigned;
  }

  const decodeRawBig = (data: Uint8Array): bigint => {
    let v = rawUnsignedBig(data);
    if (s.valueType === 'int' && s.signed && v >= halfBig) v -= spanBig;
    return v;
  };

  const writeUnsigned = (data: Uint8Array, raw: number): void => {
    for (const g of segs) {
      const part = Math.floor(raw / g.weight) & g.mask;
      data[g.byte] = (data[g.byte]! & ~(g.mask << g.shift)) | (part << g.shift);
    }
  };
  const writeUnsignedBig = (data: Uint8Array, raw: bigint): void => {
    for (const g of segs) {
      const part = Number((raw >> BigInt(g.bitPos)) & BigInt(g.mask));
      data[g.byte] = (data[g.byte]! & ~(g.mask << g.shift)) | (part << g.shift);
    }
  };

  const encodeRaw = (data: Uint8Array, raw: number | bigint): void => {
    if (s.valueType === 'float32') {
      f32[0] = Number(raw);
      writeUnsigned(data, u32[0]!);
      return;
    }
    if (s.valueType === 'float64') {
      f64[0] = Number(raw);
      writeUnsignedBig(data, u64[0]!);
      return;
    }
    if (big || typeof raw === 'bigint') {
      let v = BigInt(raw);
      if (v < 0n) v += spanBig;
      writeUnsignedBig(data, v & (spanBig - 1n));
      return;
    }
    writeUnsigned(data, raw < 0 ? raw + span : raw);
  };

  const rawMin = s.signed ? -half : 0;
  const rawMax = s.signed ? half - 1 : span - 1;
  return {
    signal: s,
    minBytes,
    decodeRaw,
    decodeRawBig,
    decode: (data) => decodeRaw(data) * factor + offset,
    encode(data, physical) {
      if (s.valueType !== 'int') {
        encodeRaw(data, (physical - offset) / factor);
        return;
      }
      const raw = Math.round((physical - offset) / factor);
      encodeRaw(data, Math.min(rawMax, Math.max(rawMin, raw)));
    },
    encodeRaw,
  };
}
