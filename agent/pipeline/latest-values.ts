/**
 * The latest value of every signal path, with its time. What `qood status --latest` prints, what a
 * PULL request answers from, and the live signals interlocks and conditions are checked on.
 * Bounded by the number of distinct paths.
 *
 * Each value also records the monotonic time it was received (`receivedMonoMs`): freshness is
 * judged on that, never on the sample's own wall-clock stamp. And the latest value is the latest
 * received, not the latest stamped: a sample stamped in the future (by a wall clock that later
 * stepped back) used to hold its place against every real sample after it, so `Speed=0` stayed the
 * "latest" speed while the car drove (issue 14, attack 6). Within one batch, a sample stamped
 * earlier does not replace one stamped later (the batch's own order of stamps wins).
 */
import type { Sample, SampleValue } from '../../chain/index.js';

/** A path's latest value: its sample time (µs) and when it arrived (monotonic ms). */
export interface LatestValue {
  readonly tUs: number;
  readonly value: SampleValue;
  readonly receivedMonoMs: number;
}

export class LatestValues {
  readonly #values = new Map<string, LatestValue>();
  readonly #monoMs: () => number;

  /** `monoMs`: the monotonic clock, ms (default performance.now). */
  constructor(options: { readonly monoMs?: () => number } = {}) {
    this.#monoMs = options.monoMs ?? (() => performance.now());
  }

  /** Records samples as received now. */
  add(samples: readonly Sample[]): void {
    const receivedMonoMs = this.#monoMs();
    for (const s of samples) {
      const cur = this.#values.get(s.path);
      if (cur === undefined || cur.receivedMonoMs !== receivedMonoMs || cur.tUs <= s.tUs)
        this.#values.set(s.path, { tUs: s.tUs, value: s.value, receivedMonoMs });
    }
  }

  get(path: string): LatestValue | undefined {
    return this.#values.get(path);
  }

  /** Every path's latest value, sorted by path. */
  snapshot(): Record<string, { tUs: number; value: SampleValue }> {
    return Object.fromEntries(
      [...this.#values.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([p, v]) => [p, { tUs: v.tUs, value: v.value }]),
    );
  }
}
