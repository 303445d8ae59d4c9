/**
 * The collector: applies the collection schemes to the decoded samples and hands each kept sample
 * to its stream. Pure and synchronous: time is the samples' own (`tUs`), so a replayed log collects
 * exactly as the live bus did.
 *
 * - periodic: the first sample of each signal in each period of the grid `floor(tUs / period)`.
 * - on-change: a sample whose value differs from the last one kept by more than the deadband
 *   (any change for booleans and strings), or that comes `heartbeatMs` after it.
 * - window: the scheme's signals are buffered for `beforeMs`; when the condition turns true, the
 *   buffer and the next `afterMs` of samples are kept. A new trigger inside the window extends it.
 */

import type { Sample, SampleValue } from '../../chain/index.js';
import type { CollectConfig, DataClass, PrivacyLevel, SchemeConfig } from '../config/collect.js';
import { type Condition, parseCondition } from './condition.js';

/** A stream: the samples of one scheme with one data class, privacy level and priority. */
export interface StreamInfo {
  /** `<scheme>`, with `.oem`/`.disputed`, `.private` and `.p<N>` appended when not the scheme's own. */
  readonly id: string;
  readonly scheme: string;
  readonly dataClass: DataClass;
  readonly privacy: PrivacyLevel;
  readonly priority: number;
}

/** Receives each kept sample with its stream. */
export type CollectSink = (stream: StreamInfo, sample: Sample) => void;

interface Rule {
  readonly prefix: string;
  readonly exact: boolean;
  readonly priority: number | undefined;
  readonly privacy: PrivacyLevel | undefined;
  readonly dataClass: DataClass | undefined;
}

interface SignalState {
  readonly stream: StreamInfo;
  lastKeptUs: number;
  lastKept: SampleValue | undefined;
  lastBucket: number;
}

class Scheme {
  readonly rules: Rule[];
  readonly periodUs: number;
  readonly heartbeatUs: number;
  readonly condition: Condition | undefined;
  /** Per path: undefined when the scheme does not take it (cached after the first lookup). */
  readonly signals = new Map<string, SignalState | undefined>();
  readonly streams = new Map<string, StreamInfo>();
  // window state
  readonly buffer: { stream: StreamInfo; sample: Sample }[] = [];
  bufferStart = 0;
  activeUntilUs = Number.NEGATIVE_INFINITY;
  wasTrue = false;

  constructor(readonly cfg: SchemeConfig) {
    this.rules = cfg.signals.map((r) => {
      const o = typeof r === 'string' ? { path: r } : r;
      const exact = !o.path.endsWith('*');
      return {
        prefix: exact ? o.path : o.path.slice(0, -1),
        exact,
        priority: 'priority' in o ? o.priority : undefined,
        privacy: 'privacy' in o ? o.privacy : undefined,
        dataClass: 'class' in o ? o.class : undefined,
      };
    });
    this.periodUs = (cfg.periodMs ?? 0) * 1000;
    this.heartbeatUs = (cfg.heartbeatMs ?? 0) * 1000;
    this.condition = cfg.when === undefined ? undefined : parseCondition(cfg.when);
  }

  /** The signal's state in this scheme, or undefined when no rule takes the path. */
  lookup(path: string): SignalState | undefined {
    if (this.signals.has(path)) return this.signals.get(path);
    // The most specific rule wins: an exact path over a pattern, a longer pattern over a shorter.
    let best: Rule | undefined;
    for (const r of this.rules) {
      const hit = r.exact ? path === r.prefix : path.startsWith(r.prefix);
      if (!hit) continue;
      if (
        best === undefined ||
        (r.exact && !best.exact) ||
        (r.exact === best.exact && r.prefix.length > best.prefix.length)
      )
        best = r;
    }
    const state = best === undefined ? undefined : this.#state(best);
    this.signals.set(path, state);
    return state;
  }

  #state(rule: Rule): SignalState {
    const c = this.cfg;
    const dataClass = rule.dataClass ?? c.class;
    const privacy = rule.privacy ?? c.privacy;
    const priority = rule.priority ?? c.priority;
    let id = c.name;
    if (dataClass !== 'owner') id += `.${dataClass}`;
    if (privacy !== 'normal') id += `.${privacy}`;
    if (priority !== c.priority) id += `.p${priority}`;
    let stream = this.streams.get(id);
    if (stream === undefined) {
      stream = { id, scheme: c.name, dataClass, privacy, priority };
      this.streams.set(id, stream);
    }
    return { stream, lastKeptUs: Number.NEGATIVE_INFINITY, lastKept: undefined, lastBucket: Number.NaN };
  }
}

export class Collector {
  readonly #schemes: Scheme[];
  readonly #sink: CollectSink;
  /** Latest value of every path a window condition reads. */
  readonly #latest = new Map<string, SampleValue>();
  readonly #conditionPaths = new Set<string>();
  readonly #lookup = (p: string) => this.#latest.get(p);

  constructor(options: { config: CollectConfig; sink: CollectSink }) {
    this.#schemes = options.config.schemes.map((s) => new Scheme(s));
    this.#sink = options.sink;
    for (const s of this.#schemes) for (const p of s.condition?.paths ?? []) this.#conditionPaths.add(p);
  }

  /** Every stream that has received a sample so far. */
  streams(): StreamInfo[] {
    return this.#schemes.flatMap((s) => [...s.streams.values()]);
  }

  /** Applies every scheme to `samples`, in order. */
  add(samples: readonly Sample[]): void {
    for (const sample of samples) {
      if (this.#conditionPaths.has(sample.path)) this.#latest.set(sample.path, sample.value);
      for (const scheme of this.#schemes) {
        const kind = scheme.cfg.kind;
        if (kind === 'window') this.#window(scheme, sample);
        else {
          const st = scheme.lookup(sample.path);
          if (st === undefined) continue;
          if (kind === 'periodic' ? this.#periodic(scheme, st, sample) : this.#onChange(scheme, st, sample))
            this.#sink(st.stream, sample);
        }
      }
    }
  }

  #periodic(scheme: Scheme, st: SignalState, s: Sample): boolean {
    const bucket = Math.floor(s.tUs / scheme.periodUs);
    if (bucket === st.lastBucket) return false;
    st.lastBucket = bucket;
    return true;
  }

  #onChange(scheme: Scheme, st: SignalState, s: Sample): boolean {
    const last = st.lastKept;
    let keep = last === undefined;
    if (!keep) {
      if (typeof s.value === 'number' && typeof last === 'number')
        keep = Math.abs(s.value - last) > scheme.cfg.deadband || Number.isNaN(s.value) !== Number.isNaN(last);
      else keep = s.value !== last;
      if (!keep && scheme.heartbeatUs > 0) keep = s.tUs - st.lastKeptUs >= scheme.heartbeatUs;
    }
    if (keep) {
      st.lastKept = s.value;
      st.lastKeptUs = s.tUs;
    }
    return keep;
  }

  #window(scheme: Scheme, s: Sample): void {
    const st = scheme.lookup(s.path);
    if (st !== undefined && (scheme.periodUs === 0 || this.#periodic(scheme, st, s))) {
      if (s.tUs <= scheme.activeUntilUs) this.#sink(st.stream, s);
      else {
        scheme.buffer.push({ stream: st.stream, sample: s });
        this.#trimBuffer(scheme, s.tUs);
      }
    }
    if (scheme.condition === undefined || !scheme.condition.paths.includes(s.path)) return;
    const now = scheme.condition.evaluate(this.#lookup);
    if (now && !scheme.wasTrue) {
      const afterUs = scheme.cfg.afterMs * 1000;
      if (s.tUs > scheme.activeUntilUs) {
        const fromUs = s.tUs - scheme.cfg.beforeMs * 1000;
        for (let i = scheme.bufferStart; i < scheme.buffer.length; i++) {
          const b = scheme.buffer[i]!;
          if (b.sample.tUs >= fromUs) this.#sink(b.stream, b.sample);
        }
        scheme.buffer.length = 0;
        scheme.bufferStart = 0;
      }
      scheme.activeUntilUs = s.tUs + afterUs;
    }
    scheme.wasTrue = now;
  }

  #trimBuffer(scheme: Scheme, nowUs: number): void {
    const fromUs = nowUs - scheme.cfg.beforeMs * 1000;
    const buf = scheme.buffer;
    while (scheme.bufferStart < buf.length && buf[scheme.bufferStart]!.sample.tUs < fromUs)
      scheme.bufferStart++;
    // Compact now and then so the array does not grow without bound.
    if (scheme.bufferStart > 4096 && scheme.bufferStart * 2 > buf.length) {
      buf.splice(0, scheme.bufferStart);
      scheme.bufferStart = 0;
    }
  }
}
