/**
 * Shared pieces of the fuzz suite (test/fuzz) and of the hostile-input regression tests: the seed and
 * the budget, mutations of valid inputs, the check that a parser either answers or throws its layer's
 * typed error, and inputs built to exhaust a parser.
 *
 * Budget: `npm test` runs every property with its base number of runs and a fixed seed, so CI is
 * repeatable and the whole suite stays within about a minute on two cores. `npm run fuzz` sets
 * QOOD_FUZZ_SCALE=50 (50 times the runs) and a random QOOD_FUZZ_SEED that it prints; a failure is
 * replayed with `QOOD_FUZZ_SEED=<seed> npm run fuzz` (fast-check also prints the seed and the path of
 * the shrunk counter-example).
 */
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { type CanonicalValue, decodeCanonical, encodeCanonical } from '../../chain/index.js';

/** The seed CI uses; any fixed number would do, this one is the issue's date. */
export const FIXED_FUZZ_SEED = 20_261_203;

/** Multiplier of every property's runs (1 under `npm test`, 50 under `npm run fuzz`). */
export const FUZZ_SCALE = Math.max(1, Number(process.env.QOOD_FUZZ_SCALE ?? '1') || 1);

/** The seed of this run: QOOD_FUZZ_SEED when given, else the fixed CI seed. */
export const FUZZ_SEED =
  process.env.QOOD_FUZZ_SEED === undefined || process.env.QOOD_FUZZ_SEED === ''
    ? FIXED_FUZZ_SEED
    : Number(process.env.QOOD_FUZZ_SEED);

/**
 * Longest one run of a property may take, ms. A parser that takes longer on one input of a few
 * kilobytes is as good as hung (a quadratic loop, a backtracking regex) and fails the property.
 */
export const MAX_RUN_MS = 2_000;

/** fast-check parameters: `runs` times the scale, this run's seed, and a bounded wall time. */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: runs * FUZZ_SCALE,
    // A property that slows down (a loaded CI machine) ends early rather than holding the suite;
    // the runs it did are still checked.
    interruptAfterTimeLimit: 20_000 * FUZZ_SCALE,
    markInterruptAsFailure: false,
  };
}

/** Runs `property` with fuzzParams(runs). */
export function fuzz<Ts extends [unknown, ...unknown[]]>(
  runs: number,
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => void,
): void {
  fc.assert(
    fc.property(...arbs, (...args: Ts) => {
      const started = performance.now();
      predicate(...args);
      const tookMs = performance.now() - started;
      if (tookMs > MAX_RUN_MS) throw new Error(`one run took ${Math.round(tookMs)} ms (hang?)`);
    }),
    fuzzParams(runs),
  );
}

/** An error class with a `code` field, as every layer's typed error has. */
export type TypedErrorClass = abstract new (...args: never[]) => Error & { readonly code: string };

/**
 * Calls `fn`: returns its result, or undefined when it threw an instance of one of `allowed` with a
 * code in that class's union (`codes`). Anything else (a TypeError, a RangeError from recursion, a
 * typed error with a code outside its union) is rethrown, failing the property with the input.
 */
export function answersOrRefuses<T>(
  fn: () => T,
  allowed: readonly {
    readonly type: TypedErrorClass | (abstract new (...args: never[]) => Error);
    /** The class's code union; absent for a class without codes (ChunkFormatError). */
    readonly codes?: readonly string[];
  }[],
): T | undefined {
  try {
    return fn();
  } catch (err) {
    for (const a of allowed)
      if (err instanceof a.type) {
        const code = (err as { code?: unknown }).code;
        if (a.codes !== undefined && !a.codes.includes(code as string))
          throw new Error(`${err.name} with code ${String(code)}, not one of ${a.codes.join(', ')}`, {
            cause: err,
          });
        if (err.message === '')
          throw new Error(`${err.name} ${String(code)} without a message`, { cause: err });
        return undefined;
      }
    throw err;
  }
}

/** Tokens that broke parsers elsewhere: object internals, non-numbers, huge and negative numbers. */
export const TRICKY_TOKENS = [
  '__proto__',
  'constructor',
  'toString',
  'NaN',
  'Infinity',
  '-Infinity',
  '-1',
  '-0',
  '1e308',
  '1e-320',
  '9'.repeat(400),
  '0x1F',
  '',
  ' ',
  '\u0000',
  '\uFFFD',
  '\uD800',
  '"',
  '\\',
  '[',
  '{',
  '*',
  '&a',
  ',',
  ';',
  '\n',
  '\r\n',
] as const;

/** One edit of a byte string: flip bits, truncate, extend, insert, delete or overwrite a slice. */
export type ByteEdit =
  | { readonly kind: 'flip'; readonly at: number; readonly mask: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'extend'; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'overwrite'; readonly at: number; readonly bytes: Uint8Array };

const someBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });
const position = fc.nat({ max: 1 << 20 });

/** Arbitrary edits; positions are taken modulo the input's length when applied. */
export const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('extend' as const), bytes: someBytes }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: someBytes }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: someBytes }),
);

/** Applies `edits` in order to a copy of `input`. */
export function applyEdits(input: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : ('at' in e ? e.at : 0) % b.length;
    switch (e.kind) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ e.mask;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'extend':
        b = concat(b, e.bytes);
        break;
      case 'insert':
        b = concat(b.slice(0, at), e.bytes, b.slice(at));
        break;
      case 'delete':
        b = concat(b.slice(0, at), b.slice(at + e.length));
        break;
      case 'overwrite':
        b = concat(b.slice(0, at), e.bytes, b.slice(at + e.bytes.length));
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Byte strings that exercise a decoder: arbitrary bytes, and one to four edits of one of the
 * `valid` samples (most runs, since random bytes rarely get past a decoder's first check).
 */
export function mutatedBytes(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...valid), fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
        .map(([v, edits]) => applyEdits(v, edits)),
    },
  );
}

/** Values of the canonical CBOR data model, nested a little, for replacing fields. */
export const canonicalValue: fc.Arbitrary<CanonicalValue> = fc.letrec<{ v: CanonicalValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<CanonicalValue>(
      0,
      1,
      255,
      256,
      65_536,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      true,
      false,
      null,
    ),
    fc.nat(),
    fc.integer({ min: -(2 ** 31), max: -1 }),
    fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
    fc.uint8Array({ maxLength: 80 }),
    fc.constantFrom(new Uint8Array(32), new Uint8Array(64).fill(0xff)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(...TRICKY_TOKENS),
    fc.array(tie('v'), { maxLength: 5 }),
  ),
})).v;

/**
 * Canonical CBOR that decodes but says the wrong thing: a valid sample with one field (at any depth,
 * chosen by `pick`) replaced by an arbitrary value, dropped, or an array extended. This reaches the
 * field checks behind the CBOR layer, which byte edits rarely do.
 */
export function mutatedCbor(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const replaced = fc
    .tuple(fc.constantFrom(...valid), fc.nat(), fc.constantFrom('replace', 'drop', 'append'), canonicalValue)
    .map(([bytes, pick, how, value]) => {
      const tree = decodeCanonical(bytes);
      const nodes: { parent: CanonicalValue[] | undefined; index: number }[] = [
        { parent: undefined, index: 0 },
      ];
      const copy = clone(tree, nodes);
      const target = nodes[pick % nodes.length]!;
      if (target.parent === undefined) return encodeCanonical(how === 'replace' ? value : [copy, value]);
      if (how === 'replace') target.parent[target.index] = value;
      else if (how === 'drop') target.parent.splice(target.index, 1);
      else target.parent.push(value);
      return encodeCanonical(copy);
    });
  return fc.oneof({ weight: 1, arbitrary: mutatedBytes(valid) }, { weight: 2, arbitrary: replaced });
}

const cborMaps = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});

/**
 * CBOR maps (the device-link envelopes and acks, written with cbor-x) with one field replaced by an
 * arbitrary value, deleted, or added, then re-encoded; plus byte edits of the valid samples.
 */
export function mutatedCborMap(valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const fieldValue = fc.oneof(
    canonicalValue,
    fc.double(),
    fc.dictionary(fc.string({ maxLength: 6 }), canonicalValue, { maxKeys: 3 }),
  );
  const edited = fc
    .tuple(
      fc.constantFrom(...valid),
      fc.nat(),
      fc.constantFrom('replace', 'delete', 'add'),
      fc.constantFrom(...TRICKY_TOKENS, 'v', 'seq', 'id'),
      fieldValue,
    )
    .map(([bytes, pick, how, newKey, value]) => {
      const m = cborMaps.decode(bytes) as Record<string, unknown>;
      const keys = Object.keys(m);
      const key = keys.length === 0 ? newKey : keys[pick % keys.length]!;
      if (how === 'replace') m[key] = value;
      else if (how === 'delete') delete m[key];
      else Object.defineProperty(m, newKey, { value, enumerable: true, writable: true, configurable: true });
      return Uint8Array.from(cborMaps.encode(m));
    });
  return fc.oneof({ weight: 1, arbitrary: mutatedBytes(valid) }, { weight: 2, arbitrary: edited });
}

/** A deep copy with mutable arrays, listing every position in `nodes`. */
function clone(
  v: CanonicalValue,
  nodes: { parent: CanonicalValue[] | undefined; index: number }[],
): CanonicalValue {
  if (!Array.isArray(v)) return v;
  const out: CanonicalValue[] = [];
  for (const [i, x] of (v as readonly CanonicalValue[]).entries()) {
    out.push(clone(x, nodes));
    nodes.push({ parent: out, index: i });
  }
  return out;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextEncoder();

/**
 * Text that exercises a line or file parser: arbitrary strings (any code unit), and edits of one of
 * the `valid` samples, which keep most of the sample's structure (keywords, separators) intact.
 */
export function mutatedText(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 256 }) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...valid), fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
        .map(([v, edits]) => latin1.decode(applyEdits(utf8.encode(v), edits))),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(), fc.constantFrom(...TRICKY_TOKENS))
        .map(([v, a, len, token]) => {
          const at = v.length === 0 ? 0 : a % v.length;
          return v.slice(0, at) + token + v.slice(at + (len % 8));
        }),
    },
  );
}

/** Nine levels of nine aliases each: 9^9 (387 million) strings once expanded ("billion laughs"). */
export const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  '',
].join('\n');
