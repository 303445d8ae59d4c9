/**
 * Contract suites, as node-serialport and MQTT.js keep them: the behaviour an interface promises,
 * written once as a list of checks, and run against every implementation (the memory double and
 * the real adapter). A check is a plain async function that throws on failure (node:assert), so the
 * same list runs under vitest (`describeContract`) and in a plain Node process where vitest cannot
 * go, such as the vcan VM (`runChecks`, which returns a JSON-friendly report).
 *
 * Each check gets a fresh subject from the implementation's factory and the subject is disposed of
 * after it, pass or fail, so one failing check does not poison the next and nothing stays open.
 */

/** What a check runs against: the implementation under test plus what the factory opened. */
export interface ContractSubject {
  /** Closes everything the factory opened (idempotent: the check may have closed part of it). */
  dispose(): Promise<void>;
}

/** One promised behaviour. */
export interface ContractCheck<S extends ContractSubject> {
  readonly name: string;
  /** Why this check does not apply to `subject` (a capability it lacks), or undefined when it applies. */
  readonly skip?: (subject: S) => string | undefined;
  /** Throws (an AssertionError, or the implementation's own error) when the promise is broken. */
  run(subject: S): Promise<void>;
}

/** The outcome of one check, as a probe prints it. */
export interface CheckResult {
  readonly name: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  readonly detail?: string;
  readonly ms: number;
}

/** Waits until `cond()` holds, polling every few ms; throws `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits `ms` (to show that something does not happen). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs one check on a fresh subject and disposes of it. */
export async function runCheck<S extends ContractSubject>(
  check: ContractCheck<S>,
  make: () => Promise<S>,
): Promise<CheckResult> {
  const start = Date.now();
  const subject = await make();
  try {
    const why = check.skip?.(subject);
    if (why !== undefined) return { name: check.name, outcome: 'skipped', detail: why, ms: 0 };
    await check.run(subject);
    return { name: check.name, outcome: 'passed', ms: Date.now() - start };
  } catch (err) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { name: check.name, outcome: 'failed', detail, ms: Date.now() - start };
  } finally {
    await subject.dispose();
  }
}

/** Runs every check in order, each on a fresh subject, for a probe outside vitest. */
export async function runChecks<S extends ContractSubject>(
  checks: readonly ContractCheck<S>[],
  make: () => Promise<S>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push(await runCheck(check, make));
  return results;
}
