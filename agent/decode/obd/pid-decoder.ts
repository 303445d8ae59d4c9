/**
 * J1979 service 01 responses to samples: applies the PID table's formulas to the data bytes, then
 * converts each value to its dictionary path's unit and type (rounding for integer types, booleans
 * for flags). Paths and units are resolved against the dictionary once, when the decoder is made;
 * a table entry whose path or unit does not fit the dictionary is a programming error reported
 * then, as AgentError DICTIONARY_MISMATCH. Short replies are counted, not thrown: an ECU's bad reply must not stop the source.
 */

import type { Sample, SampleValue } from '../../../chain/index.js';
import { type Dictionary, isNumericDatatype } from '../../dictionary/index.js';
import { AgentError } from '../../errors.js';
import { conversion } from '../vss-map/index.js';
import { type PidDefinition, type PidSignal, pidDefinition, SERVICE01_PIDS } from './pid-table.js';

/** One signal resolved against the dictionary. */
export interface ResolvedObdSignal {
  readonly signal: PidSignal;
  /** VSS path, or `Obd.<PID>.<name>` for signals without one. */
  readonly path: string;
  /** The unit of the output value (the dictionary's, or the table's for `Obd.*`). */
  readonly unit: string;
  readonly mul: number;
  readonly add: number;
  readonly integer: boolean;
}

/** What the decoder dropped. */
export interface ObdDecoderStats {
  /** Responses shorter than the PID's data length. */
  short: number;
  /** Responses for PIDs this table does not decode. */
  unknownPid: number;
}

/** Raw value of a signal in `data` (bytes after the PID), or undefined when `data` is too short. */
export function rawValue(s: PidSignal, data: Uint8Array): number | undefined {
  if (data.length < s.byte + s.bytes) return undefined;
  let v = 0;
  for (let i = 0; i < s.bytes; i++) v = v * 256 + data[s.byte + i]!;
  if (s.signed && v >= 2 ** (8 * s.bytes - 1)) v -= 2 ** (8 * s.bytes);
  if (s.mask !== undefined) v &= s.mask;
  return v;
}

/** Physical value in the table's unit. */
export function physicalValue(s: PidSignal, raw: number): number {
  return raw * s.scale + s.offset;
}

function pidLabel(pid: number): string {
  return `01${pid.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Decodes service 01 responses into samples. */
export class ObdDecoder {
  readonly stats: ObdDecoderStats = { short: 0, unknownPid: 0 };
  readonly #resolved = new Map<number, { def: PidDefinition; signals: ResolvedObdSignal[] }>();

  constructor(dictionary: Dictionary) {
    for (const def of SERVICE01_PIDS) {
      const signals = def.signals.map((s) => resolve(def, s, dictionary));
      this.#resolved.set(def.pid, { def, signals });
    }
  }

  /** The resolved signals of a PID (undefined when the table has none). */
  signals(pid: number): readonly ResolvedObdSignal[] | undefined {
    return this.#resolved.get(pid)?.signals;
  }

  /**
   * Appends the samples of one response to `out`. `response` is the whole message (`41 0C 1A F8`).
   * Returns the number of samples added.
   */
  decode(response: Uint8Array, tUs: number, out: Sample[]): number {
    const pid = response[1];
    const entry = pid === undefined ? undefined : this.#resolved.get(pid);
    if (!entry) {
      this.stats.unknownPid++;
      return 0;
    }
    const data = response.subarray(2);
    if (
      data.length < entry.def.length &&
      entry.signals.some((r) => data.length < r.signal.byte + r.signal.bytes)
    ) {
      this.stats.short++;
      return 0;
    }
    let n = 0;
    for (const r of entry.signals) {
      const raw = rawValue(r.signal, data);
      if (raw === undefined) continue;
      out.push({ path: r.path, tUs, value: outputValue(r, raw) });
      n++;
    }
    return n;
  }
}

function outputValue(r: ResolvedObdSignal, raw: number): SampleValue {
  if (r.signal.type === 'boolean') return raw !== 0;
  const v = physicalValue(r.signal, raw) * r.mul + r.add;
  return r.integer ? Math.round(v) : Number(v.toPrecision(12));
}

function resolve(def: PidDefinition, s: PidSignal, dictionary: Dictionary): ResolvedObdSignal {
  if (s.path === undefined)
    return {
      signal: s,
      path: `Obd.${pidLabel(def.pid)}.${s.name}`,
      unit: s.unit,
      mul: 1,
      add: 0,
      integer: false,
    };
  const pid = pidLabel(def.pid);
  const mismatch = (message: string) =>
    new AgentError('DICTIONARY_MISMATCH', message, { pid, path: s.path! });
  const entry = dictionary.get(s.path);
  if (!entry) throw mismatch(`PID ${pid} ${s.name}: ${s.path} is not in dictionary ${dictionary.id}`);
  if (s.type === 'boolean') {
    if (entry.datatype !== 'boolean')
      throw mismatch(`PID ${pid} ${s.name}: ${s.path} is ${entry.datatype}, not boolean`);
    return { signal: s, path: s.path, unit: '', mul: 1, add: 0, integer: false };
  }
  if (!isNumericDatatype(entry.datatype))
    throw mismatch(`PID ${pid} ${s.name}: ${s.path} is ${entry.datatype}, not numeric`);
  // A dimensionless ratio (lambda) may be declared without a unit in VSS.
  const conv = s.unit === 'ratio' && entry.unit === '' ? { mul: 1, add: 0 } : conversion(s.unit, entry.unit);
  if (typeof conv === 'string') throw mismatch(`PID ${pid} ${s.name} -> ${s.path}: ${conv}`);
  return {
    signal: s,
    path: s.path,
    unit: entry.unit,
    mul: conv.mul,
    add: conv.add,
    integer: /^u?int/.test(entry.datatype),
  };
}

export { pidDefinition };
