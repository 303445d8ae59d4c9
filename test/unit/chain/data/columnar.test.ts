/** The chunk body format: exact round trips (property-tested), size on real-looking data, clear errors. */

import { deflateRawSync } from 'node:zlib';
import { encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Chunker, type PlainChunk } from '../../../../agent/chunk/index.js';
import type { Sample } from '../../../../chain/index.js';
import { ChunkFormatError, decodeChunkBody, encodeChunkBody } from '../../../../chain/index.js';

const byPathThenOrder = (s: readonly Sample[]) => {
  const groups = new Map<string, Sample[]>();
  for (const x of s) groups.set(x.path, [...(groups.get(x.path) ?? []), x]);
  return [...groups.values()].flat();
};

describe('chunk body', () => {
  it('gives back every sample exactly: ints, decimals, doubles, booleans, strings, any time order', () => {
    const value = fc.oneof(
      fc.integer({ min: -1e12, max: 1e12 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -100000, max: 100000 }).map((x) => x / 100),
      fc.boolean(),
      fc.string(),
    );
    const sample = fc.record({
      path: fc.constantFrom('Vehicle.Speed', 'Vehicle.Gear', 'A.B'),
      tUs: fc.integer({ min: 1_600_000_000_000_000, max: 1_900_000_000_000_000 }),
      value,
    });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 200 }), (samples) => {
        // One value type per path, as the dictionary guarantees.
        const typed = samples.map((s) => ({ ...s, value: s.path === 'A.B' ? String(s.value) : s.value }));
        const types = new Map<string, string>();
        const consistent = typed.filter((s) => {
          const t = types.get(s.path) ?? typeof s.value;
          types.set(s.path, t);
          return t === typeof s.value;
        });
        const back = decodeChunkBody(encodeChunkBody(consistent).body);
        expect(back).toEqual(byPathThenOrder(consistent));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps -0 and decimals whose scaled integers would overflow a zigzag varint exact', () => {
    // Both were found by the property test: -0 has no integer form, and 4503599627.424711 * 10^6
    // is below 2^53 but its zigzag code is not.
    const samples: Sample[] = [
      { path: 'A.B', tUs: 1, value: -0 },
      { path: 'C.D', tUs: 2, value: -4503599627.424711 },
      { path: 'C.D', tUs: 3, value: 4503599627.424711 },
    ];
    const back = decodeChunkBody(encodeChunkBody(samples).body);
    expect(Object.is(back[0]!.value, -0)).toBe(true);
    expect(back).toEqual(samples);
  });

  it('stays near a byte per sample for periodic signals', () => {
    const samples: Sample[] = [];
    for (let i = 0; i < 10_000; i++)
      samples.push({
        path: 'Vehicle.Speed',
        tUs: 1e15 + i * 10_000,
        value: Math.round(500 + 200 * Math.sin(i / 300)) / 10,
      });
    const { body } = encodeChunkBody(samples);
    expect(body.length / samples.length).toBeLessThan(1.2);
  });

  it('rejects garbage with what was wrong', () => {
    expect(() => decodeChunkBody(Uint8Array.of(1, 2, 3))).toThrow(ChunkFormatError);
    expect(() => decodeChunkBody(deflateRawSync(encode([2, 0, []])))).toThrow(/format version 2, expected 1/);
    expect(() =>
      decodeChunkBody(deflateRawSync(encode([1, 0, [['x', 9, 0, new Uint8Array(1), []]]]))),
    ).toThrow(/unknown value kind 9/);
    expect(() =>
      decodeChunkBody(deflateRawSync(encode([1, 0, [['x', 0, 0, Uint8Array.of(0x80), new Uint8Array(0)]]]))),
    ).toThrow(/times: varint truncated/);
  });
});

describe('Chunker', () => {
  const stream = { id: 's', scheme: 's', dataClass: 'owner', privacy: 'normal', priority: 5 } as const;
  const make = (o: Partial<{ maxSpanMs: number; maxSamples: number; maxAgeMs: number }>) => {
    const out: PlainChunk[] = [];
    const c = new Chunker({
      maxSpanMs: 1e9,
      maxSamples: 1e9,
      maxAgeMs: 1e9,
      firstSeq: () => 7,
      onChunk: (x) => out.push(x),
      ...o,
    });
    return { c, out };
  };
  const at = (ms: number): Sample => ({ path: 'p', tUs: ms * 1000, value: ms });

  it('closes by sample count, continuing the stream’s sequence', () => {
    const { c, out } = make({ maxSamples: 3 });
    for (let i = 0; i < 7; i++) c.add(stream, at(i), 0);
    expect(out.map((x) => [x.seq, x.samples.length])).toEqual([
      [7, 3],
      [8, 3],
    ]);
    expect(c.pendingSamples).toBe(1);
  });

  it('closes by the span of sample times and by wall-clock age', () => {
    const { c, out } = make({ maxSpanMs: 1000, maxAgeMs: 5000 });
    c.add(stream, at(0), 0);
    c.add(stream, at(900), 0);
    c.add(stream, at(1200), 0);
    expect(out).toHaveLength(1);
    expect([out[0]!.tStartUs, out[0]!.tEndUs]).toEqual([0, 900_000]);
    c.tick(4000);
    expect(out).toHaveLength(1);
    c.tick(5000);
    expect(out).toHaveLength(2);
    c.flush(6000);
    expect(out).toHaveLength(2);
  });
});
