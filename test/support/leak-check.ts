/**
 * A leak check after every test file (a vitest `setupFiles` entry), as MQTT.js runs one after its
 * tests: what a file opened and did not close (sockets, servers, child processes, pipes, timers)
 * fails the file, named with where it came from. Vitest has no such check of its own, and a forked
 * worker that is torn down at the end hides a test that forgot to stop a broker or kill a child
 * until the day it keeps a CI job waiting.
 *
 * Handles are read from `process.getActiveResourcesInfo()` (Node 20): the counts of each type that
 * keeps the event loop alive are compared with the counts when the file began (this module is
 * loaded just before the test file is imported). Timers cannot be judged that way: vitest's own
 * refed timers come and go while a file runs, so a leaked timer can hide behind one of vitest's
 * that ended. Timers are therefore followed where they are made: `setTimeout` and `setInterval`
 * on `globalThis` are wrapped for the file's lifetime (vitest keeps its own copies of the originals,
 * so its timers stay out), and a timer still pending at the end is a leak, unref'd or not: an
 * unref'd interval cannot hold the process up, but it is a sync or a desk the test never stopped,
 * still running against stores the test has closed.
 *
 * Whatever went away within the grace period is not a leak (a killed child takes a moment to be
 * reaped). Unref'd handles do not appear in `getActiveResourcesInfo()` and so do not count. The
 * check runs in every file; QOOD_LEAK_CHECK=off turns it off for a run.
 */
import { afterAll } from 'vitest';

/**
 * How long leftovers may take to go away after the file's own cleanup: a killed child's exit, a
 * socket's close and a server's last connection each take a few event-loop turns, more on two
 * shared cores. Timers due within it fire and so do not count either.
 */
const GRACE_MS = 2000;
const POLL_MS = 20;
/** The real setTimeout, for the check's own waits (which must not count as timers of the file). */
const realSetTimeout = globalThis.setTimeout;

/** Resource types that are never a test file's to close, with the reason; everything else counts. */
const NOT_OURS: ReadonlyMap<string, string> = new Map([
  // Timers are judged by where they were made (see above); their count here includes vitest's.
  ['Timeout', 'judged by the timer wrapper instead'],
  // Immediates run on the next turn; one still queued is not held open by anyone.
  ['Immediate', 'runs on the next turn by itself'],
  // The worker's stdout/stderr when vitest runs in a terminal, made on first write, closed at exit.
  ['TTYWrap', 'the worker’s own stdout/stderr'],
]);

/** Counts of each resource type now keeping the event loop alive. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The resource types present in `now` more often than in `before` (and not in `ignore`), with how many more. */
export function newResources(
  before: ReadonlyMap<string, number>,
  now: ReadonlyMap<string, number>,
  ignore: ReadonlyMap<string, string> = NOT_OURS,
): Map<string, number> {
  const extra = new Map<string, number>();
  for (const [type, n] of now) {
    if (ignore.has(type)) continue;
    const more = n - (before.get(type) ?? 0);
    if (more > 0) extra.set(type, more);
  }
  return extra;
}

/** `TCPSocketWrap x2, PipeWrap x1`. */
export function formatResources(counts: ReadonlyMap<string, number>): string {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} x${n}`)
    .join(', ');
}

/** A timer made while the file ran, and where. */
interface TrackedTimer {
  readonly timer: WeakRef<NodeJS.Timeout>;
  readonly kind: 'setTimeout' | 'setInterval';
  readonly delayMs: number;
  /** Made at creation; its stack is formatted only if the timer leaks. */
  readonly site: Error;
}

/** The first frames of `site` that are not Node's, vitest's or this file's: where the timer came from. */
function callSite(site: Error): string {
  const frames = (site.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''))
    .filter(
      (l) => !/node:internal|node:timers|leak-check\.ts|[/\\]node_modules[/\\](vitest|@vitest)[/\\]/.test(l),
    );
  return frames.slice(0, 3).join(' <- ') || 'an unknown place';
}

/**
 * Follows the timers made through `globalThis.setTimeout`/`setInterval` until `stop()`, which puts
 * the originals back.
 */
export class TimerTracker {
  readonly #made: TrackedTimer[] = [];
  readonly #original = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };

  constructor() {
    const track = (kind: TrackedTimer['kind'], timer: NodeJS.Timeout, delayMs: unknown): void => {
      // Timers that have fired or been cleared are dropped now and then, so a file that makes
      // millions of them does not keep them all.
      if (this.#made.length >= 4096) this.#sweep();
      // Fake timers (vi.useFakeTimers) return objects of their own; those are not real handles.
      if (typeof timer?.hasRef !== 'function') return;
      const delay = typeof delayMs === 'number' ? delayMs : 1;
      this.#made.push({
        timer: new WeakRef(timer),
        kind,
        delayMs: delay,
        site: new Error('timer made here'),
      });
    };
    const { setTimeout: st, setInterval: si } = this.#original;
    const wrappedTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const t = st(...args);
      track('setTimeout', t, args[1]);
      return t;
    }) as typeof setTimeout;
    const wrappedInterval = ((...args: Parameters<typeof setInterval>) => {
      const t = si(...args);
      track('setInterval', t, args[1]);
      return t;
    }) as typeof setInterval;
    // util.promisify(setTimeout) and friends read this symbol from the function.
    Object.assign(wrappedTimeout, st);
    Object.assign(wrappedInterval, si);
    globalThis.setTimeout = wrappedTimeout;
    globalThis.setInterval = wrappedInterval;
  }

  /** Timers still pending (refed or not), with where each was made. */
  pending(): string[] {
    this.#sweep();
    return this.#made.map((m) => {
      const unref = m.timer.deref()?.hasRef() === false ? ', unref' : '';
      return `${m.kind}(${m.delayMs} ms${unref}) made at ${callSite(m.site)}`;
    });
  }

  /** Puts the original functions back. */
  stop(): void {
    globalThis.setTimeout = this.#original.setTimeout;
    globalThis.setInterval = this.#original.setInterval;
  }

  #sweep(): void {
    let kept = 0;
    for (const m of this.#made) {
      const t = m.timer.deref() as (NodeJS.Timeout & { _destroyed?: boolean }) | undefined;
      // `_destroyed` is set when a timeout has fired or any timer was cleared (lib/internal/timers.js).
      if (t === undefined || t._destroyed === true) continue;
      this.#made[kept++] = m;
    }
    this.#made.length = kept;
  }
}

/** The handle objects Node keeps for the active handles (sockets, servers, child processes). */
function activeHandleObjects(): unknown[] {
  const get = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  return typeof get === 'function' ? get.call(process) : [];
}

/** One line naming a handle object: a server's address, a socket's ends, a child's command. */
function describeHandle(h: unknown): string {
  const o = h as Record<string, unknown> & { constructor?: { name?: string } };
  const name = o.constructor?.name ?? typeof h;
  try {
    if (name === 'ChildProcess')
      return `child process ${String(o.pid)}: ${(o.spawnargs as string[]).join(' ')}`;
    if (name === 'Server' && typeof o.address === 'function') {
      const a = (o.address as () => unknown)();
      return `server listening on ${typeof a === 'string' ? a : JSON.stringify(a)}`;
    }
    if (name === 'Socket') {
      const remote =
        o.remoteAddress === undefined ? '' : ` to ${String(o.remoteAddress)}:${String(o.remotePort)}`;
      const fd = (o._handle as { fd?: number } | null)?.fd;
      return `socket${remote}${fd === undefined ? '' : ` (fd ${fd})`}`;
    }
  } catch {
    // a half-closed handle may not answer; its class name is enough
  }
  return name;
}

/** What the file left open: handle types beyond the baseline and pending timers, as lines. */
async function settledLeaks(
  before: ReadonlyMap<string, number>,
  beforeHandles: ReadonlySet<unknown>,
  timers: TimerTracker,
): Promise<string[]> {
  const deadline = Date.now() + GRACE_MS;
  for (;;) {
    const extra = newResources(before, activeResources());
    const pendingTimers = timers.pending();
    if ((extra.size === 0 && pendingTimers.length === 0) || Date.now() >= deadline) {
      const lines: string[] = [];
      if (extra.size > 0) {
        lines.push(`handles: ${formatResources(extra)}`);
        for (const h of activeHandleObjects())
          if (!beforeHandles.has(h)) lines.push(`  ${describeHandle(h)}`);
      }
      if (pendingTimers.length > 0)
        lines.push(`timers: ${pendingTimers.length}`, ...pendingTimers.map((t) => `  ${t}`));
      return lines;
    }
    await new Promise((resolve) => realSetTimeout(resolve, POLL_MS));
  }
}

if (process.env.QOOD_LEAK_CHECK !== 'off') {
  // Touch the standard streams first: each is a handle made on first use and kept until exit, and
  // a file that logs would otherwise be blamed for it.
  void process.stdout.fd;
  void process.stderr.fd;
  // This module runs just before the test file is imported: what is open now is not the file's.
  const before = activeResources();
  const beforeHandles = new Set(activeHandleObjects());
  const timers = new TimerTracker();
  // Hooks run as a stack: registered before the file's own, this afterAll runs last, after the file
  // has closed what it opened.
  afterAll(async () => {
    let leaks: string[];
    try {
      leaks = await settledLeaks(before, beforeHandles, timers);
    } finally {
      timers.stop();
    }
    if (leaks.length === 0) return;
    throw new Error(
      `left open after the file's last test (and ${GRACE_MS} ms of grace):\n${leaks.join('\n')}\n` +
        'Close what the file opened in its afterAll/afterEach (brokers, sockets, servers, timers, child processes).',
    );
  }, GRACE_MS + 10_000);
}
