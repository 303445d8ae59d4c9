/**
 * Frames to samples: decodes a CAN frame with a compiled DBC and emits one Sample per mapped
 * signal, converted to the dictionary's unit. Without a map every signal becomes
 * `Dbc.<Message>.<Signal>` in its DBC unit. Counts what it could not use. This is the agent's hot
 * path: no per-frame allocation beyond the samples themselves.
 */

import type { Sample } from '../../../chain/index.js';
import type { CanFrame } from '../../../firmware-bridge/index.js';
import type { CompiledDbc, CompiledMessage } from '../can/index.js';
import type { ResolvedMapping } from './signal-map.js';

/** What the mapper has seen. */
export interface FrameMapperStats {
  frames: number;
  /** Frames whose id the DBC does not define. */
  unknownId: number;
  /** Frames shorter or longer than their message. */
  lengthMismatch: number;
  /** Remote, error or FD-mismatched frames skipped. */
  skipped: number;
  samples: number;
  /** J1939 "not available" or "error" values left out. */
  notAvailable: number;
}

interface Target {
  readonly path: string;
  readonly kind: 'number' | 'boolean' | 'string';
  readonly mul: number;
  readonly add: number;
  readonly trueValues: ReadonlySet<number> | undefined;
}

export class FrameMapper {
  readonly stats: FrameMapperStats = {
    frames: 0,
    unknownId: 0,
    lengthMismatch: 0,
    skipped: 0,
    samples: 0,
    notAvailable: 0,
  };
  /** Per message: targets per decode step (signals can feed several paths). */
  readonly #targets = new Map<CompiledMessage, (readonly Target[] | undefined)[]>();

  readonly #dbc: CompiledDbc;

  constructor(dbc: CompiledDbc, mappings: readonly ResolvedMapping[] | undefined) {
    this.#dbc = dbc;
    for (const m of dbc.database.messages) {
      const cm = dbc.byName(m.name)!;
      const perStep: (Target[] | undefined)[] = cm.steps.map(() => undefined);
      cm.steps.forEach((st, i) => {
        const sig = st.codec.signal;
        const targets: Target[] = [];
        if (mappings === undefined) {
          targets.push({
            path: `Dbc.${m.name}.${sig.name}`,
            kind: 'number',
            mul: 1,
            add: 0,
            trueValues: undefined,
          });
        } else {
          for (const r of mappings)
            if (r.message === m.name && r.signal === sig.name)
              targets.push({
                path: r.path,
                kind: r.kind,
                mul: r.convert.mul,
                add: r.convert.add,
                trueValues: r.trueValues,
              });
        }
        if (targets.length > 0) perStep[i] = targets;
      });
      if (perStep.some((t) => t !== undefined)) this.#targets.set(cm, perStep);
    }
  }

  /** Every (id, extended) a kernel filter should let through for the mapped signals. */
  neededIds(): { id: number; extended: boolean }[] {
    return [...this.#targets.keys()].map((cm) => ({ id: cm.message.id, extended: cm.message.extended }));
  }

  /** True when the message with this 29-bit id is a J1939 parameter group (matched by PGN). */
  isJ1939(id: number): boolean {
    return this.#dbc.lookup(id, true)?.message.j1939 ?? false;
  }

  /** Appends the samples of `frame` to `out`; returns how many were added. */
  map(frame: CanFrame, out: Sample[]): number {
    this.stats.frames++;
    if (frame.rtr) {
      this.stats.skipped++;
      return 0;
    }
    const cm = this.#dbc.lookup(frame.id, frame.extended);
    if (cm === undefined) {
      this.stats.unknownId++;
      return 0;
    }
    const targets = this.#targets.get(cm);
    if (targets === undefined) return 0;
    if (frame.data.length !== cm.message.length) this.stats.lengthMismatch++;
    const before = out.length;
    const tUs = frame.wallUs;
    cm.forEachSignal(frame.data, (codec, value, special, index) => {
      const ts = targets[index];
      if (ts === undefined) return;
      if (special !== undefined) {
        this.stats.notAvailable++;
        return;
      }
      for (const t of ts) {
        if (t.kind === 'number') out.push({ path: t.path, tUs, value: value * t.mul + t.add });
        else if (t.kind === 'boolean') {
          const raw = codec.decodeRaw(frame.data);
          out.push({ path: t.path, tUs, value: t.trueValues ? t.trueValues.has(raw) : raw !== 0 });
        } else {
          const text = codec.signal.choices?.get(codec.decodeRaw(frame.data));
          if (text !== undefined) out.push({ path: t.path, tUs, value: text });
        }
      }
    });
    this.stats.samples += out.length - before;
    return out.length - before;
  }
}
