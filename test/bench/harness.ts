/**
 * The benchmark harness behind `npm run bench`. A bench file `test/bench/<name>.bench.ts` exports
 * `suite: BenchSuite`; each figure is measured `runs` times and reported as the median, and where
 * a floor exists (a baseline measured in the same run, such as plain log parsing against decoding)
 * as the ratio figure/floor, which is what to quote on shared, noisy machines. Benchmarks never
 * fail on speed; they print.
 */

/** One figure to measure. */
export interface BenchFigure {
  /** What is measured, e.g. `decode Civic log`. */
  readonly name: string;
  /** Unit of the value `measure` returns, e.g. `frames/s`, `MB/s`, `bytes/sample`, `ms`. */
  readonly unit: string;
  /** Runs the work once and returns the figure in `unit`. */
  readonly measure: () => number | Promise<number>;
  /** A baseline in the same unit measured in the same run; the table shows figure/floor. */
  readonly floor?: { readonly name: string; readonly measure: () => number | Promise<number> };
  /** How many times to measure (default 5); one for costly end-to-end figures. */
  readonly runs?: number;
  /** A caveat printed beside the figure (e.g. "in an emulated VM"). */
  readonly note?: string;
}

/** A bench file's contents. */
export interface BenchSuite {
  readonly name: string;
  /** Figures, or a function that prepares them (loads logs, starts a broker). */
  readonly figures: readonly BenchFigure[] | (() => Promise<readonly BenchFigure[]>);
  /** Called once after every figure, also after a failure. */
  readonly teardown?: () => void | Promise<void>;
  /** When set, the suite is listed as skipped with this reason (a missing package or data). */
  readonly skip?: () => string | undefined;
}

/** One row of the printed table and of the JSON file. */
export interface BenchResult {
  readonly suite: string;
  readonly figure: string;
  readonly unit: string;
  readonly median: number;
  readonly runs: number;
  readonly samples: readonly number[];
  readonly floor?: { readonly name: string; readonly median: number };
  readonly ratio?: number;
  readonly note?: string;
  readonly skipped?: string;
  readonly error?: string;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Measures every figure of a suite. Errors are reported per figure, not thrown. */
export async function runSuite(suite: BenchSuite): Promise<BenchResult[]> {
  const skipped = suite.skip?.();
  if (skipped !== undefined)
    return [{ suite: suite.name, figure: '-', unit: '', median: Number.NaN, runs: 0, samples: [], skipped }];
  const results: BenchResult[] = [];
  try {
    const figures = typeof suite.figures === 'function' ? await suite.figures() : suite.figures;
    for (const fig of figures) {
      const runs = fig.runs ?? 5;
      try {
        const samples: number[] = [];
        const floorSamples: number[] = [];
        for (let i = 0; i < runs; i++) {
          // Interleave figure and floor so drift on a shared machine affects both alike.
          if (fig.floor) floorSamples.push(await fig.floor.measure());
          samples.push(await fig.measure());
          (globalThis as { gc?: () => void }).gc?.();
        }
        const m = median(samples);
        const result: BenchResult = {
          suite: suite.name,
          figure: fig.name,
          unit: fig.unit,
          median: m,
          runs,
          samples,
          ...(fig.floor
            ? {
                floor: { name: fig.floor.name, median: median(floorSamples) },
                ratio: m / median(floorSamples),
              }
            : {}),
          ...(fig.note ? { note: fig.note } : {}),
        };
        results.push(result);
      } catch (err) {
        results.push({
          suite: suite.name,
          figure: fig.name,
          unit: fig.unit,
          median: Number.NaN,
          runs: 0,
          samples: [],
          error: String(err),
        });
      }
    }
  } catch (err) {
    results.push({
      suite: suite.name,
      figure: '(setup)',
      unit: '',
      median: Number.NaN,
      runs: 0,
      samples: [],
      error: String(err),
    });
  } finally {
    await suite.teardown?.();
  }
  return results;
}

/** Formats a number with 3 significant digits and thousands separators. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}

/** The printed table: suite, figure, median, unit, floor, ratio, note. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = [['suite', 'figure', 'median', 'unit', 'floor (same run)', 'ratio', 'note']];
  for (const r of results) {
    rows.push([
      r.suite,
      r.figure,
      r.skipped ? 'skipped' : r.error ? 'error' : formatValue(r.median),
      r.unit,
      r.floor ? `${r.floor.name}: ${formatValue(r.floor.median)}` : '',
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
      r.skipped ?? r.error ?? r.note ?? '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => (i === 2 || i === 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
