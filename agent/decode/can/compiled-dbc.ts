/**
 * A DBC compiled for decoding and encoding frames: messages looked up by id (and J1939 parameter
 * groups by PGN, whatever their source address), multiplexing resolved in dependency order, each
 * signal's extractor built once. `forEachSignal` is the allocation-free hot path the agent uses;
 * `decode` builds a plain object for the CLI and tests.
 */

import { type DbcDatabase, DbcError, type DbcMessage, type DbcSignal } from './dbc-types.js';
import { compileSignal, type SignalCodec } from './signal-codec.js';

/** A J1939 value that is not a measurement (J1939-71 §5.1.5: 0xFE.. error, 0xFF.. not available). */
export type J1939Special = 'not-available' | 'error';

/** What decoding one frame gave. */
export interface DecodedMessage {
  readonly message: DbcMessage;
  /** Physical values by signal name; a choice's text with `choices`; null for a J1939 special value. */
  readonly signals: Record<string, number | string | null>;
  /** Set when the payload length differs from the DBC's; only signals that fit were decoded. */
  readonly lengthMismatch?: { readonly expected: number; readonly actual: number };
}

export interface DecodeOptions {
  /** Replace raw values that have a value description by its text (cantools' decode_choices). */
  readonly choices?: boolean;
  /** Return raw values instead of physical ones (cantools' scaling=False). */
  readonly raw?: boolean;
}

/** Visitor for the hot path: a signal's codec, its physical value, its J1939 special meaning and its step index. */
export type SignalVisitor = (
  codec: SignalCodec,
  value: number,
  special: J1939Special | undefined,
  step: number,
) => void;

interface Step {
  readonly codec: SignalCodec;
  /** Index in `steps` of the multiplexer that switches this signal, or -1. */
  readonly muxStep: number;
  readonly ranges: readonly (readonly [number, number])[];
}

/** One message ready to decode and encode. */
export class CompiledMessage {
  readonly steps: readonly Step[];
  readonly #active: Uint8Array;
  readonly #muxRaw: Float64Array;
  readonly #j1939: boolean;

  /** `file` names the DBC in errors (a multiplexer cycle or an unknown multiplexer). */
  constructor(
    readonly message: DbcMessage,
    file = '<dbc>',
  ) {
    this.#j1939 = message.j1939;
    // Order signals so every multiplexer comes before the signals it switches. The chain of
    // multiplexers above a signal is walked with a loop, not recursion: a DBC from outside may
    // chain 20,000 signals (or close the chain into a cycle), which must be a DbcError naming the
    // line, not a stack overflow.
    const byName = new Map(message.signals.map((s) => [s.name, s]));
    const ordered: DbcSignal[] = [];
    const placed = new Set<string>();
    for (const first of message.signals) {
      const chain: DbcSignal[] = [];
      const inChain = new Set<string>();
      let s: DbcSignal | undefined = first;
      while (s !== undefined && !placed.has(s.name)) {
        if (inChain.has(s.name))
          throw new DbcError('CYCLE', file, s.line, `${message.name}: multiplexer cycle at ${s.name}`);
        chain.push(s);
        inChain.add(s.name);
        const mux: string | undefined = s.multiplexedBy?.multiplexer;
        const parent: DbcSignal | undefined = mux === undefined ? undefined : byName.get(mux);
        if (mux !== undefined && parent === undefined)
          throw new DbcError(
            'UNKNOWN_REFERENCE',
            file,
            s.line,
            `${message.name}: ${s.name} is switched by unknown signal ${mux}`,
          );
        s = parent;
      }
      for (let i = chain.length - 1; i >= 0; i--) {
        placed.add(chain[i]!.name);
        ordered.push(chain[i]!);
      }
    }
    const index = new Map(ordered.map((s, i) => [s.name, i]));
    this.steps = ordered.map((s) => ({
      codec: compileSignal(s),
      muxStep: s.multiplexedBy ? index.get(s.multiplexedBy.multiplexer)! : -1,
      ranges: s.multiplexedBy?.ranges ?? [],
    }));
    this.#active = new Uint8Array(this.steps.length);
    this.#muxRaw = new Float64Array(this.steps.length);
  }

  /**
   * Calls `visit` for every signal present in `data`, in multiplexer-first order. Signals whose
   * bits lie beyond `data.length` are skipped. Not re-entrant (it reuses scratch buffers).
   */
  forEachSignal(data: Uint8Array, visit: SignalVisitor): void {
    const steps = this.steps;
    const active = this.#active;
    const muxRaw = this.#muxRaw;
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i]!;
      active[i] = 0;
      if (st.codec.minBytes > data.length) continue;
      if (st.muxStep >= 0) {
        if (active[st.muxStep] === 0) continue;
        const sel = muxRaw[st.muxStep]!;
        let hit = false;
        for (const [lo, hi] of st.ranges)
          if (sel >= lo && sel <= hi) {
            hit = true;
            break;
          }
        if (!hit) continue;
      }
      const raw = st.codec.decodeRaw(data);
      active[i] = 1;
      muxRaw[i] = raw;
      const sig = st.codec.signal;
      let special: J1939Special | undefined;
      if (this.#j1939 && sig.valueType === 'int' && !sig.signed) special = j1939Special(raw, sig.length);
      visit(st.codec, raw * sig.factor + sig.offset, special, i);
    }
  }

  /** Decodes `data` into a plain object of signal values. */
  decode(data: Uint8Array, options: DecodeOptions = {}): DecodedMessage {
    // Signal names come from the DBC: with Object.prototype behind it, a signal named `__proto__`
    // would set the prototype instead of a key and vanish from the output.
    const signals: Record<string, number | string | null> = Object.create(null);
    this.forEachSignal(data, (codec, value, special) => {
      const sig = codec.signal;
      if (special !== undefined) {
        signals[sig.name] = null;
        return;
      }
      if (options.choices && sig.choices) {
        const text = sig.choices.get(codec.decodeRaw(data));
        if (text !== undefined) {
          signals[sig.name] = text;
          return;
        }
      }
      signals[sig.name] = options.raw ? codec.decodeRaw(data) : value;
    });
    return data.length === this.message.length
      ? { message: this.message, signals }
      : {
          message: this.message,
          signals,
          lengthMismatch: { expected: this.message.length, actual: data.length },
        };
  }

  /**
   * Encodes physical values into a payload of the message's length. Missing signals are 0 raw; a
   * multiplexed signal is written only when its multiplexer's given value selects it.
   */
  encode(values: Readonly<Record<string, number | bigint>>): Uint8Array {
    const data = new Uint8Array(this.message.length);
    const selected = new Float64Array(this.steps.length);
    const active = new Uint8Array(this.steps.length);
    for (let i = 0; i < this.steps.length; i++) {
      const st = this.steps[i]!;
      const sig = st.codec.signal;
      if (st.muxStep >= 0) {
        if (!active[st.muxStep]) continue;
        if (!st.ranges.some(([lo, hi]) => selected[st.muxStep]! >= lo && selected[st.muxStep]! <= hi))
          continue;
      }
      active[i] = 1;
      // Own keys only: a signal named `constructor` has no value in `{}`, not Object.
      const v = Object.hasOwn(values, sig.name) ? values[sig.name] : undefined;
      if (v === undefined) continue;
      if (typeof v === 'bigint') st.codec.encodeRaw(data, v);
      else st.codec.encode(data, v);
      selected[i] = st.codec.decodeRaw(data);
    }
    return data;
  }

  /** The codec of a signal by name. */
  signal(name: string): SignalCodec | undefined {
    return this.steps.find((s) => s.codec.signal.name === name)?.codec;
  }
}

/** J1939-71 special ranges for unsigned parameters of a byte or more: the top 1/256 of the range is "not available", the next 1/256 "error"; 2-bit states: 3 and 2. */
export function j1939Special(raw: number, bits: number): J1939Special | undefined {
  if (bits === 2) return raw === 3 ? 'not-available' : raw === 2 ? 'error' : undefined;
  // Other fields shorter than a byte (single bits, 3- and 4-bit counters) have no reserved values.
  if (bits < 8) return undefined;
  const span = 2 ** bits;
  const slice = span / 256;
  if (raw >= span - slice) return 'not-available';
  if (raw >= span - 2 * slice) return 'error';
  return undefined;
}

/** The parameter group number of a 29-bit J1939 id (PDU1 groups drop their destination address). */
export function j1939Pgn(id: number): number {
  const pf = (id >> 16) & 0xff;
  const pgn = (id >> 8) & 0x3ffff;
  return pf < 240 ? pgn & 0x3ff00 : pgn;
}

const keyOf = (id: number, extended: boolean) => (extended ? id + 0x100000000 : id);

/** A whole DBC compiled: find a frame's message and decode or encode it. */
export class CompiledDbc {
  readonly #byKey = new Map<number, CompiledMessage>();
  readonly #byPgn = new Map<number, CompiledMessage>();
  readonly #byName = new Map<string, CompiledMessage>();

  constructor(readonly database: DbcDatabase) {
    for (const m of database.messages) {
      const cm = new CompiledMessage(m, database.file);
      this.#byKey.set(keyOf(m.id, m.extended), cm);
      this.#byName.set(m.name, cm);
      if (m.j1939) this.#byPgn.set(j1939Pgn(m.id), cm);
    }
  }

  /** The message for a frame id: exact id first, then (29-bit) its J1939 PGN. */
  lookup(id: number, extended: boolean): CompiledMessage | undefined {
    const exact = this.#byKey.get(keyOf(id, extended));
    if (exact !== undefined || !extended || this.#byPgn.size === 0) return exact;
    return this.#byPgn.get(j1939Pgn(id));
  }

  /** The message with this name. */
  byName(name: string): CompiledMessage | undefined {
    return this.#byName.get(name);
  }

  /** Every (id, extended) the DBC defines, for kernel receive filters. */
  ids(): { id: number; extended: boolean; j1939: boolean }[] {
    return this.database.messages.map((m) => ({ id: m.id, extended: m.extended, j1939: m.j1939 }));
  }
}
