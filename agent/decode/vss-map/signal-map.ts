/**
 * Signal map files: which DBC signal feeds which VSS path, with unit conversion. YAML:
 *
 *   version: 1
 *   signals:
 *     - message: VEHICLE_DYNAMICS       # DBC message name
 *       signal: VehicleSpeed            # DBC signal name
 *       path: Vehicle.Speed             # dictionary path
 *       unit: km/h                      # optional: the source unit when the DBC's is missing or wrong
 *       scale: 1                        # optional: extra value * scale + offset after conversion
 *       offset: 0
 *     - message: BODY_STATUS
 *       signal: DoorsLocked
 *       path: Vehicle.Cabin.Door.Row1.DriverSide.IsLocked
 *       true: [1]                       # boolean paths: raw values meaning true (default: non-zero)
 *
 * Loading checks every entry against the DBC and the dictionary and reports each problem with
 * file:line.
 */
import { z } from 'zod';
import { type ConfigProblem, formatProblem, parseConfigText } from '../../config/yaml-file.js';
import { type Dictionary, isNumericDatatype } from '../../dictionary/index.js';
import type { CompiledDbc } from '../can/index.js';
import { type Conversion, conversion } from './units.js';

const entrySchema = z
  .object({
    message: z.string().min(1),
    signal: z.string().min(1),
    path: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)+$/, 'a dictionary path such as Vehicle.Speed'),
    unit: z.string().optional(),
    scale: z.number().finite().optional(),
    offset: z.number().finite().optional(),
    true: z.array(z.number().int()).min(1).optional(),
  })
  .strict();

const mapSchema = z
  .object({
    version: z.literal(1),
    dbc: z.string().optional(),
    signals: z.array(entrySchema).min(1),
  })
  .strict();

export type SignalMapEntry = z.infer<typeof entrySchema>;

/** A map entry resolved against a DBC and the dictionary. */
export interface ResolvedMapping {
  readonly message: string;
  readonly signal: string;
  readonly path: string;
  readonly kind: 'number' | 'boolean' | 'string';
  readonly convert: Conversion;
  readonly trueValues?: ReadonlySet<number>;
}

export type SignalMapErrorCode = 'INVALID_MAP';

/** A map that cannot be used, with every problem (file:line: ...). */
export class SignalMapError extends Error {
  readonly code: SignalMapErrorCode = 'INVALID_MAP';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SignalMapError';
  }
}

/** Parses and checks a map file's text. Throws SignalMapError naming each bad entry. */
export function resolveSignalMap(
  text: string,
  file: string,
  dbc: CompiledDbc,
  dictionary: Dictionary,
): ResolvedMapping[] {
  const parsed = parseConfigText(text, file, mapSchema);
  if (!parsed.ok) throw new SignalMapError(parsed.problems.map(formatProblem));
  const lines = entryLines(text);
  const problems: string[] = [];
  const out: ResolvedMapping[] = [];
  const seen = new Set<string>();
  for (const [i, e] of parsed.config.signals.entries()) {
    const where = `${file}:${lines[i] ?? 1}`;
    const msg = dbc.byName(e.message);
    const codec = msg?.signal(e.signal);
    if (!msg) {
      problems.push(`${where}: message '${e.message}' is not in the DBC`);
      continue;
    }
    if (!codec) {
      problems.push(`${where}: signal '${e.signal}' is not in message ${e.message}`);
      continue;
    }
    const entry = dictionary.get(e.path);
    if (!entry) {
      problems.push(`${where}: path '${e.path}' is not in dictionary ${dictionary.id}`);
      continue;
    }
    const key = `${e.message}.${e.signal}->${e.path}`;
    if (seen.has(key)) {
      problems.push(`${where}: ${e.message}.${e.signal} is mapped to ${e.path} twice`);
      continue;
    }
    seen.add(key);
    if (entry.datatype === 'boolean') {
      out.push({
        message: e.message,
        signal: e.signal,
        path: e.path,
        kind: 'boolean',
        convert: { mul: 1, add: 0 },
        ...(e.true ? { trueValues: new Set(e.true) } : {}),
      });
      continue;
    }
    if (entry.datatype === 'string') {
      if (!codec.signal.choices) {
        problems.push(
          `${where}: ${e.path} is a string but ${e.message}.${e.signal} has no value descriptions (VAL_)`,
        );
        continue;
      }
      out.push({
        message: e.message,
        signal: e.signal,
        path: e.path,
        kind: 'string',
        convert: { mul: 1, add: 0 },
      });
      continue;
    }
    if (!isNumericDatatype(entry.datatype)) {
      problems.push(`${where}: ${e.path} has datatype ${entry.datatype}, which a CAN signal cannot fill`);
      continue;
    }
    const conv = conversion(e.unit ?? codec.signal.unit, entry.unit);
    if (typeof conv === 'string') {
      problems.push(
        `${where}: ${e.message}.${e.signal} in '${e.unit ?? codec.signal.unit}' to ${e.path} in '${entry.unit}': ${conv}; set 'unit:' (and 'scale:') on the entry`,
      );
      continue;
    }
    const scale = e.scale ?? 1;
    const offset = e.offset ?? 0;
    out.push({
      message: e.message,
      signal: e.signal,
      path: e.path,
      kind: 'number',
      convert: { mul: conv.mul * scale, add: conv.add * scale + offset },
    });
  }
  if (problems.length > 0) throw new SignalMapError(problems);
  return out;
}

/** 1-based line of each `- message:` list item, in order. */
function entryLines(text: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (/^\s*-\s+\S/.test(l)) out.push(i + 1);
  });
  return out;
}

export type { ConfigProblem };
