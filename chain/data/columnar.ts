/**
 * The plaintext of a chunk: samples regrouped by signal path into columns, each column's times and
 * values delta-coded as zigzag varints, the whole as CBOR (cbor-x), then deflated. Periodic signals
 * have near-constant time deltas and slowly moving values, which is what makes this small (about a
 * byte per sample on a real car's bus) before and after compression.
 *
 * Layout (CBOR array, version 1):
 *   [1, t0Us, [[path, kind, scaleExp, times, values], ...]]
 * times:  varints of the deltas from the previous sample's time in the column (the first from t0Us)
 * kinds:  0 integers (values: varint deltas), 1 decimals (values * 10^scaleExp are integers;
 *         varint deltas of those), 2 float64 (values: little-endian doubles), 3 booleans (values:
 *         one byte each, 0/1), 4 strings (values: an array of strings)
 * Decoding gives back every sample exactly: same path, time and value, in column order.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import type { Sample, SampleValue } from './sample.js';
import { VarintReader, VarintWriter } from './varint.js';

export const CHUNK_FORMAT_VERSION = 1;

const KIND = { int: 0, decimal: 1, float: 2, bool: 3, string: 4 } as const;

/** A chunk body that does not decode: says what was wrong and where. */
export class ChunkFormatError extends Error {
  constructor(message: string) {
    super(`chunk body: ${message}`);
    this.name = 'ChunkFormatError';
  }
}

type Column = [path: string, kind: number, scaleExp: number, times: Uint8Array, values: unknown];

/** The smallest k in 0..6 with every value * 10^k an exact integer below 2^50, or -1. */
function decimalScale(values: readonly number[]): number {
  // -0 has no integer form: such a column is kept as doubles so it comes back exactly.
  if (values.some((v) => Object.is(v, -0))) return -1;
  for (let k = 0; k <= 6; k++) {
    const m = 10 ** k;
    let ok = true;
    for (const v of values) {
      const s = Math.round(v * m);
      // Below 2^50, a delta between two values and its zigzag code stay exact integers.
      if (!(Math.abs(s) < 2 ** 50) || s / m !== v) {
        ok = false;
        break;
      }
    }
    if (ok) return k;
  }
  return -1;
}

function encodeColumn(path: string, samples: readonly Sample[], t0Us: number): Column {
  const times = new VarintWriter();
  let prev = t0Us;
  for (const s of samples) {
    times.writeSigned(s.tUs - prev);
    prev = s.tUs;
  }
  const first = samples[0]!.value;
  const values = samples.map((s) => s.value);
  if (typeof first === 'boolean' && values.every((v) => typeof v === 'boolean'))
    return [path, KIND.bool, 0, times.bytes(), Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0))];
  if (typeof first === 'number' && values.every((v) => typeof v === 'number')) {
    const nums = values as number[];
    const k = decimalScale(nums);
    if (k >= 0) {
      const w = new VarintWriter();
      const m = 10 ** k;
      let p = 0;
      for (const v of nums) {
        const s = Math.round(v * m);
        w.writeSigned(s - p);
        p = s;
      }
      return [path, k === 0 ? KIND.int : KIND.decimal, k, times.bytes(), w.bytes()];
    }
    return [path, KIND.float, 0, times.bytes(), new Uint8Array(Float64Array.from(nums).buffer)];
  }
  return [path, KIND.string, 0, times.bytes(), values.map(String)];
}

/** Encodes samples into a chunk body (CBOR, deflated). `samples` may interleave paths. */
export function encodeChunkBody(samples: readonly Sample[]): { body: Uint8Array; rawBytes: number } {
  const byPath = new Map<string, Sample[]>();
  let t0Us = Number.POSITIVE_INFINITY;
  for (const s of samples) {
    let col = byPath.get(s.path);
    if (col === undefined) {
      col = [];
      byPath.set(s.path, col);
    }
    col.push(s);
    if (s.tUs < t0Us) t0Us = s.tUs;
  }
  if (samples.length === 0) t0Us = 0;
  const columns = [...byPath.entries()].map(([path, col]) => encodeColumn(path, col, t0Us));
  const raw = cborEncode([CHUNK_FORMAT_VERSION, t0Us, columns]);
  return { body: deflateRawSync(raw, { level: 6 }), rawBytes: raw.length };
}

function decodeValues(
  kind: number,
  scaleExp: number,
  values: unknown,
  n: number,
  path: string,
): SampleValue[] {
  const bad = (what: string) => new ChunkFormatError(`column ${path}: ${what}`);
  switch (kind) {
    case KIND.int:
    case KIND.decimal: {
      if (!(values instanceof Uint8Array)) throw bad('expected varint bytes for numeric values');
      const r = new VarintReader(values);
      const m = 10 ** scaleExp;
      const out: number[] = [];
      let p = 0;
      for (let i = 0; i < n; i++) {
        p += r.readSigned();
        out.push(kind === KIND.int ? p : p / m);
      }
      return out;
    }
    case KIND.float: {
      if (!(values instanceof Uint8Array) || values.length !== n * 8)
        throw bad(`expected ${n * 8} bytes of float64 values`);
      const copy = new Uint8Array(values);
      return [...new Float64Array(copy.buffer, 0, n)];
    }
    case KIND.bool:
      if (!(values instanceof Uint8Array) || values.length !== n) throw bad(`expected ${n} boolean bytes`);
      return [...values].map((b) => b !== 0);
    case KIND.string:
      if (!Array.isArray(values) || values.length !== n || !values.every((v) => typeof v === 'string'))
        throw bad(`expected ${n} strings`);
      return values as string[];
    default:
      throw bad(`unknown value kind ${kind}`);
  }
}

/** Decodes a chunk body back into its samples (grouped by path). Throws ChunkFormatError. */
export function decodeChunkBody(body: Uint8Array): Sample[] {
  let doc: unknown;
  try {
    doc = cborDecode(inflateRawSync(body));
  } catch (err) {
    throw new ChunkFormatError(`not deflated CBOR (${(err as Error).message})`);
  }
  if (!Array.isArray(doc) || doc.length !== 3)
    throw new ChunkFormatError('expected [version, t0Us, columns]');
  const [version, t0Us, columns] = doc as [unknown, unknown, unknown];
  if (version !== CHUNK_FORMAT_VERSION)
    throw new ChunkFormatError(`format version ${String(version)}, expected ${CHUNK_FORMAT_VERSION}`);
  if (typeof t0Us !== 'number' || !Array.isArray(columns)) throw new ChunkFormatError('bad t0Us or columns');
  const out: Sample[] = [];
  for (const col of columns as unknown[]) {
    if (!Array.isArray(col) || col.length !== 5)
      throw new ChunkFormatError('a column is not [path, kind, scale, times, values]');
    const [path, kind, scaleExp, times, values] = col as [unknown, unknown, unknown, unknown, unknown];
    if (
      typeof path !== 'string' ||
      typeof kind !== 'number' ||
      typeof scaleExp !== 'number' ||
      !(times instanceof Uint8Array)
    )
      throw new ChunkFormatError('a column has a bad path, kind, scale or times');
    const r = new VarintReader(times);
    const ts: number[] = [];
    let t = t0Us;
    try {
      while (!r.done) {
        t += r.readSigned();
        ts.push(t);
      }
    } catch (err) {
      throw new ChunkFormatError(`column ${path}: times: ${(err as Error).message}`);
    }
    let vals: SampleValue[];
    try {
      vals = decodeValues(kind, scaleExp, values, ts.length, path);
    } catch (err) {
      if (err instanceof ChunkFormatError) throw err;
      throw new ChunkFormatError(`column ${path}: values: ${(err as Error).message}`);
    }
    for (let i = 0; i < ts.length; i++) out.push({ path, tUs: ts[i]!, value: vals[i]! });
  }
  return out;
}
