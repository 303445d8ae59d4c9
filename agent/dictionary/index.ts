/**
 * The data dictionary: which signal paths exist (COVESA VSS 6.0, plus VSS 4.0's Vehicle.OBD), with
 * their type and unit. Its `id` is named in every descriptor, so a buyer knows what the paths mean.
 */
import vss from './vss.json' with { type: 'json' };

export type VssDatatype =
  | 'boolean'
  | 'string'
  | 'float'
  | 'double'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'int8'
  | 'int16'
  | 'int32'
  | string;

/** One signal the dictionary knows. */
export interface DictionaryEntry {
  readonly path: string;
  /** sensor, actuator or attribute. */
  readonly type: string;
  readonly datatype: VssDatatype;
  /** VSS unit (`km/h`, `Celsius`, `percent` ...), or '' for none. */
  readonly unit: string;
  readonly min?: number;
  readonly max?: number;
  readonly allowed?: readonly (string | number)[];
}

/** A versioned dictionary. */
export interface Dictionary {
  readonly id: string;
  get(path: string): DictionaryEntry | undefined;
  readonly size: number;
}

type Row = [string, string, string, string, number | null, number | null, (string | number)[] | null];

let cached: Dictionary | undefined;

/** The built-in dictionary (loaded once). */
export function vssDictionary(): Dictionary {
  if (cached) return cached;
  const map = new Map<string, DictionaryEntry>();
  for (const [path, type, datatype, unit, min, max, allowed] of vss.rows as Row[]) {
    map.set(path, {
      path,
      type,
      datatype,
      unit,
      ...(min === null ? {} : { min }),
      ...(max === null ? {} : { max }),
      ...(allowed === null ? {} : { allowed }),
    });
  }
  cached = { id: vss.id, get: (p) => map.get(p), size: map.size };
  return cached;
}

/** True for numeric VSS datatypes. */
export function isNumericDatatype(t: VssDatatype): boolean {
  return /^(u?int(8|16|32|64)|float|double)$/.test(t);
}
