/**
 * Reconnect delays: exponential from `initialMs`, capped at `maxMs`, with "equal jitter" (half
 * fixed, half random) so a fleet that lost its broker at the same instant does not come back at
 * the same instant (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */

export interface BackoffOptions {
  /** Delay before the first retry, ms (default 500). */
  readonly initialMs?: number;
  /** Longest delay, ms (default 30000). */
  readonly maxMs?: number;
  /** Uniform random in [0, 1); injected for tests. */
  readonly random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry after a loss), in ms. */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const random = options.random ?? Math.random;
  return Math.round(base / 2 + random() * (base / 2));
}
