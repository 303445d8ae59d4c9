/**
 * A grant's terms document: what the chain's grant record commits to by `termsHash` and what the
 * device enforces beyond the scope and the validity window. Canonical CBOR (numbers that may have
 * fractions, such as a granularity of 0.01 degrees, are decimal text so the bytes stay canonical):
 *
 *   terms = [1, rateMilliHz, [[path, stepText]...], [[path, op, valueText]...],
 *            [maxCommands, perMs] | null, whileEngineRunning, pull, minPaid]
 *
 *   termsHash = taggedHash("qood/grant-terms/v1", canonical(terms))
 *
 * - rateMilliHz: listen grants, the most pushes per second x 1000 (1000 = 1 Hz).
 * - granularity: listen grants, a path's values are rounded to the nearest multiple of its step
 *   (speed 10 = 10 km/h; latitude 0.01 = about 1.1 km).
 * - conditions: the grant holds only while every `path op value` is true on live signals (for
 *   example `Vehicle.Speed le 0`: only while parked); control commands are refused otherwise.
 * - commandLimit: control grants, at most `maxCommands` executions per sliding `perMs`.
 * - whileEngineRunning: control grants, commands are refused while the engine runs unless true.
 * - pull: listen grants, the grantee may also ask for the latest values.
 * - minPaid: listen grants, data flows only once the chain shows this much QDD paid (0: free).
 */
import {
  type CanonicalValue,
  CodecError,
  decodeCanonical,
  encodeCanonical,
  readAmount,
  readArray,
  readBool,
  readText,
  readUint,
  taggedHash,
} from '../../chain/index.js';
import { INTERLOCK_OPS, type InterlockRule } from '../../firmware-bridge/index.js';

/** The terms of a grant, as the device enforces them. */
export interface GrantTerms {
  /** Listen: most pushes per second (may be fractional); 0 for control grants. */
  readonly rateHz: number;
  /** Listen: rounding step per signal path. */
  readonly granularity: ReadonlyMap<string, number>;
  /** Conditions on live signals that must all hold. */
  readonly conditions: readonly InterlockRule[];
  /** Control: most executions per sliding window. */
  readonly commandLimit: { readonly count: number; readonly perMs: number } | undefined;
  readonly whileEngineRunning: boolean;
  readonly pull: boolean;
  /** QDD base units the chain must show paid before a listen grant delivers (0n: free). */
  readonly minPaid: bigint;
}

/** Most entries in a terms list (a bound on what a hostile document can make us hold). */
export const MAX_TERMS_ENTRIES = 256;

function decimal(v: CanonicalValue | undefined, path: string): number {
  const s = readText(v, path, 32);
  if (!/^-?\d+(\.\d+)?(e-?\d+)?$/.test(s))
    throw new CodecError('SHAPE', path, `expected a decimal number as text, got '${s}'`);
  return Number(s);
}

/** The terms' canonical value. */
export function termsValue(t: GrantTerms): CanonicalValue {
  return [
    1,
    Math.round(t.rateHz * 1000),
    [...t.granularity.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, s]) => [p, String(s)]),
    t.conditions.map((c) => [c.path, c.op, String(c.value)]),
    t.commandLimit === undefined ? null : [t.commandLimit.count, t.commandLimit.perMs],
    t.whileEngineRunning,
    t.pull,
    t.minPaid,
  ];
}

/** The terms document's bytes. */
export function encodeTerms(t: GrantTerms): Uint8Array {
  return encodeCanonical(termsValue(t));
}

/** What the grant's `termsHash` must be. */
export function termsHash(termsBytes: Uint8Array): Uint8Array {
  return taggedHash('qood/grant-terms/v1', termsBytes);
}

/** Decodes a terms document; throws CodecError naming the field. */
export function decodeTerms(bytes: Uint8Array): GrantTerms {
  const a = readArray(decodeCanonical(bytes), 'terms', 8);
  if (readUint(a[0], 'terms.version') !== 1) throw new CodecError('SHAPE', 'terms.version', 'expected 1');
  const list = (v: CanonicalValue | undefined, p: string) => {
    const l = readArray(v, p);
    if (l.length > MAX_TERMS_ENTRIES)
      throw new CodecError('SHAPE', p, `expected at most ${MAX_TERMS_ENTRIES}`);
    return l;
  };
  const granularity = new Map<string, number>();
  list(a[2], 'terms.granularity').forEach((g, i) => {
    const x = readArray(g, `terms.granularity[${i}]`, 2);
    const step = decimal(x[1], `terms.granularity[${i}].step`);
    if (!(step > 0)) throw new CodecError('SHAPE', `terms.granularity[${i}].step`, 'expected a step > 0');
    granularity.set(readText(x[0], `terms.granularity[${i}].path`, 128), step);
  });
  const conditions = list(a[3], 'terms.conditions').map((c, i): InterlockRule => {
    const x = readArray(c, `terms.conditions[${i}]`, 3);
    const op = readText(x[1], `terms.conditions[${i}].op`, 2);
    if (!(INTERLOCK_OPS as readonly string[]).includes(op))
      throw new CodecError('SHAPE', `terms.conditions[${i}].op`, `expected ${INTERLOCK_OPS.join(' | ')}`);
    return {
      path: readText(x[0], `terms.conditions[${i}].path`, 128),
      op: op as InterlockRule['op'],
      value: decimal(x[2], `terms.conditions[${i}].value`),
    };
  });
  let commandLimit: GrantTerms['commandLimit'];
  if (a[4] !== null) {
    const l = readArray(a[4], 'terms.commandLimit', 2);
    commandLimit = {
      count: readUint(l[0], 'terms.commandLimit.count', 1_000_000),
      perMs: readUint(l[1], 'terms.commandLimit.perMs'),
    };
    if (commandLimit.perMs === 0) throw new CodecError('SHAPE', 'terms.commandLimit.perMs', 'expected > 0');
  }
  return {
    rateHz: readUint(a[1], 'terms.rateMilliHz', 1_000_000) / 1000,
    granularity,
    conditions,
    commandLimit,
    whileEngineRunning: readBool(a[5], 'terms.whileEngineRunning'),
    pull: readBool(a[6], 'terms.pull'),
    minPaid: readAmount(a[7], 'terms.minPaid'),
  };
}

/** Rounds `value` to the nearest multiple of `step`, without float noise such as 0.30000000000000004. */
export function quantize(value: number, step: number): number {
  const q = Math.round(value / step) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(q.toFixed(Math.min(decimals, 12)));
}

/** True when `value op limit`. */
export function compare(value: number, op: InterlockRule['op'], limit: number): boolean {
  switch (op) {
    case 'eq':
      return value === limit;
    case 'ne':
      return value !== limit;
    case 'lt':
      return value < limit;
    case 'le':
      return value <= limit;
    case 'gt':
      return value > limit;
    case 'ge':
      return value >= limit;
  }
}
