/**
 * The latest value of every signal path, with its time. What `qood status --latest` prints and
 * what a PULL request will answer from. Bounded by the number of distinct paths.
 */
import type { Sample, SampleValue } from '../../chain/index.js';

export class LatestValues {
  readonly #values = new Map<string, { tUs: number; value: SampleValue }>();

  /** Records samples; an older sample never replaces a newer one. */
  add(samples: readonly Sample[]): void {
    for (const s of samples) {
      const cur = this.#values.get(s.path);
      if (cur === undefined || cur.tUs <= s.tUs) this.#values.set(s.path, { tUs: s.tUs, value: s.value });
    }
  }

  get(path: string): { tUs: number; value: SampleValue } | undefined {
    return this.#values.get(path);
  }

  /** Every path's latest value, sorted by path. */
  snapshot(): Record<string, { tUs: number; value: SampleValue }> {
    return Object.fromEntries([...this.#values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
