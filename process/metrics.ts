/**
 * Process counters and gauges that an operator looks for (frames in, errors, chunks stored, bytes
 * synced). Counters only go up; gauges are set. `snapshot()` is what `qood status` prints.
 */

/** Counter names are dotted, lower case, with the unit last where there is one (`sync.bytes`). */
export type MetricName = string;

/** A point-in-time copy of every counter and gauge, with the process uptime. */
export interface MetricsSnapshot {
  readonly uptimeMs: number;
  readonly counters: Readonly<Record<MetricName, number>>;
  readonly gauges: Readonly<Record<MetricName, number>>;
}

/** A registry of counters and gauges. Cheap enough to bump per frame. */
export class Metrics {
  readonly #counters = new Map<MetricName, number>();
  readonly #gauges = new Map<MetricName, number>();
  readonly #startedMs: number;
  readonly #nowMs: () => number;

  constructor(options: { nowMs?: () => number } = {}) {
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#startedMs = this.#nowMs();
  }

  /** Adds `by` (default 1) to a counter, creating it at 0. */
  inc(name: MetricName, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  /** Declares counters so they show as 0 before their first event. */
  declare(...names: MetricName[]): void {
    for (const n of names) if (!this.#counters.has(n)) this.#counters.set(n, 0);
  }

  /** Sets a gauge. */
  set(name: MetricName, value: number): void {
    this.#gauges.set(name, value);
  }

  /** Current value of a counter (0 if never touched). */
  counter(name: MetricName): number {
    return this.#counters.get(name) ?? 0;
  }

  /** Current value of a gauge, if set. */
  gauge(name: MetricName): number | undefined {
    return this.#gauges.get(name);
  }

  snapshot(): MetricsSnapshot {
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return {
      uptimeMs: Math.round(this.#nowMs() - this.#startedMs),
      counters: sorted(this.#counters),
      gauges: sorted(this.#gauges),
    };
  }
}
