/**
 * Unit conversion between the units DBC files use and VSS's units. Every unit is a linear map to
 * its dimension's base unit (`base = value * scale + offset`), so any conversion within a dimension
 * is one multiply-add. Names are matched after normalising common spellings (`kph`, `degC`, `°C`).
 */

interface UnitDef {
  readonly dim: string;
  readonly scale: number;
  readonly offset: number;
}

const UNITS: Record<string, UnitDef> = {
  'km/h': { dim: 'speed', scale: 1 / 3.6, offset: 0 },
  'm/s': { dim: 'speed', scale: 1, offset: 0 },
  mph: { dim: 'speed', scale: 0.44704, offset: 0 },
  knot: { dim: 'speed', scale: 1852 / 3600, offset: 0 },
  Celsius: { dim: 'temperature', scale: 1, offset: 273.15 },
  Fahrenheit: { dim: 'temperature', scale: 5 / 9, offset: 273.15 - (32 * 5) / 9 },
  K: { dim: 'temperature', scale: 1, offset: 0 },
  percent: { dim: 'ratio', scale: 0.01, offset: 0 },
  ratio: { dim: 'ratio', scale: 1, offset: 0 },
  rpm: { dim: 'rotation', scale: 1, offset: 0 },
  V: { dim: 'voltage', scale: 1, offset: 0 },
  mV: { dim: 'voltage', scale: 0.001, offset: 0 },
  A: { dim: 'current', scale: 1, offset: 0 },
  mA: { dim: 'current', scale: 0.001, offset: 0 },
  m: { dim: 'length', scale: 1, offset: 0 },
  km: { dim: 'length', scale: 1000, offset: 0 },
  mm: { dim: 'length', scale: 0.001, offset: 0 },
  cm: { dim: 'length', scale: 0.01, offset: 0 },
  mi: { dim: 'length', scale: 1609.344, offset: 0 },
  inch: { dim: 'length', scale: 0.0254, offset: 0 },
  Pa: { dim: 'pressure', scale: 1, offset: 0 },
  hPa: { dim: 'pressure', scale: 100, offset: 0 },
  kPa: { dim: 'pressure', scale: 1000, offset: 0 },
  mbar: { dim: 'pressure', scale: 100, offset: 0 },
  bar: { dim: 'pressure', scale: 100_000, offset: 0 },
  psi: { dim: 'pressure', scale: 6894.757293168, offset: 0 },
  degrees: { dim: 'angle', scale: Math.PI / 180, offset: 0 },
  rad: { dim: 'angle', scale: 1, offset: 0 },
  'degrees/s': { dim: 'angular-speed', scale: Math.PI / 180, offset: 0 },
  'rad/s': { dim: 'angular-speed', scale: 1, offset: 0 },
  l: { dim: 'volume', scale: 1, offset: 0 },
  ml: { dim: 'volume', scale: 0.001, offset: 0 },
  gal: { dim: 'volume', scale: 3.785411784, offset: 0 },
  Nm: { dim: 'torque', scale: 1, offset: 0 },
  W: { dim: 'power', scale: 1, offset: 0 },
  kW: { dim: 'power', scale: 1000, offset: 0 },
  s: { dim: 'time', scale: 1, offset: 0 },
  ms: { dim: 'time', scale: 0.001, offset: 0 },
  min: { dim: 'time', scale: 60, offset: 0 },
  h: { dim: 'time', scale: 3600, offset: 0 },
  'm/s^2': { dim: 'acceleration', scale: 1, offset: 0 },
  g: { dim: 'acceleration', scale: 9.80665, offset: 0 },
  kg: { dim: 'mass', scale: 1, offset: 0 },
  'g/s': { dim: 'mass-flow', scale: 0.001, offset: 0 },
  'kg/h': { dim: 'mass-flow', scale: 1 / 3600, offset: 0 },
  'l/h': { dim: 'volume-flow', scale: 1 / 3600, offset: 0 },
  Ah: { dim: 'charge', scale: 1, offset: 0 },
  kWh: { dim: 'energy', scale: 1, offset: 0 },
  Wh: { dim: 'energy', scale: 0.001, offset: 0 },
};

const ALIASES: Record<string, string> = {
  kph: 'km/h',
  kmh: 'km/h',
  'km/hr': 'km/h',
  degc: 'Celsius',
  '°c': 'Celsius',
  'deg c': 'Celsius',
  c: 'Celsius',
  celsius: 'Celsius',
  degf: 'Fahrenheit',
  '°f': 'Fahrenheit',
  f: 'Fahrenheit',
  '%': 'percent',
  pct: 'percent',
  '1/min': 'rpm',
  u_min: 'rpm',
  deg: 'degrees',
  '°': 'degrees',
  'deg/s': 'degrees/s',
  '°/s': 'degrees/s',
  liter: 'l',
  litre: 'l',
  miles: 'mi',
  mile: 'mi',
  volt: 'V',
  v: 'V',
  nm: 'Nm',
  'm/s2': 'm/s^2',
  'm/s²': 'm/s^2',
  sec: 's',
  kmpl: 'km/l',
};

/** The canonical name of a unit, or undefined when unknown. '' means dimensionless. */
export function normaliseUnit(unit: string): string | undefined {
  const u = unit.trim();
  if (u === '') return '';
  // Own keys only: a DBC unit spelt `constructor` or `toString` is unknown, not a built-in.
  if (Object.hasOwn(UNITS, u)) return u;
  const alias = Object.hasOwn(ALIASES, u.toLowerCase()) ? ALIASES[u.toLowerCase()] : undefined;
  if (alias) return alias;
  const ci = Object.keys(UNITS).find((k) => k.toLowerCase() === u.toLowerCase());
  return ci;
}

/** A linear conversion `out = value * mul + add`. */
export interface Conversion {
  readonly mul: number;
  readonly add: number;
}

/**
 * The conversion from one unit to another, or a message saying why there is none. Identical units
 * (including unknown ones spelt the same, and both empty) convert with the identity.
 */
export function conversion(from: string, to: string): Conversion | string {
  if (from.trim() === to.trim()) return { mul: 1, add: 0 };
  const a = normaliseUnit(from);
  const b = normaliseUnit(to);
  if (a === b && a !== undefined) return { mul: 1, add: 0 };
  if (a === undefined) return `unknown unit '${from}'`;
  if (b === undefined) return `unknown unit '${to}'`;
  if (a === '' || b === '') return `cannot convert '${from || '(none)'}' to '${to || '(none)'}'`;
  const da = UNITS[a]!;
  const db = UNITS[b]!;
  if (da.dim !== db.dim) return `cannot convert ${da.dim} ('${from}') to ${db.dim} ('${to}')`;
  return { mul: da.scale / db.scale, add: (da.offset - db.offset) / db.scale };
}
