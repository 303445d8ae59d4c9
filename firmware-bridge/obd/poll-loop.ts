/**
 * The polling loop: asks the scheduler which PID is due, waits for its deadline, reads it over the
 * transport and hands the response on, until stopped. Errors are reported and the loop goes on (a
 * PID the car does not answer is backed off by the scheduler; a disconnected adapter makes every
 * request fail fast until its connection is back, so the loop then waits `idleMs` between tries).
 */
import { ObdError } from './obd-error.js';
import type { PollScheduler } from './poll-scheduler.js';
import type { ObdResponse, ObdTransport } from './transport.js';

export interface PollLoopOptions {
  readonly transport: ObdTransport;
  readonly scheduler: PollScheduler;
  /** Called with each PID's responses (data starts with 41 and the PID) and the wall time in µs. */
  readonly onResponse: (pid: number, responses: readonly ObdResponse[], wallUs: number) => void;
  readonly onError?: (pid: number, error: ObdError) => void;
  /** Expected number of answering ECUs per PID (from discovery), for the ELM327 response count. */
  readonly expectedReplies?: ReadonlyMap<number, number>;
  /** Pause after a DISCONNECTED/CLOSED error before the next try, ms (default 500). */
  readonly idleMs?: number;
  readonly nowMs?: () => number;
  readonly wallUs?: () => number;
}

/** A running loop. */
export interface PollLoop {
  /** Number of polls that returned data. */
  readonly polled: number;
  /** Stops after the request in flight; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/** Starts polling. */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const now = options.nowMs ?? (() => performance.now());
  const wall = options.wallUs ?? (() => Date.now() * 1000);
  let stopped = false;
  let polled = 0;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });
  const run = async () => {
    const { scheduler, transport } = options;
    while (!stopped) {
      const { pid, dueMs } = scheduler.next();
      const wait = dueMs - now();
      if (wait > 1) {
        await sleep(wait);
        continue;
      }
      const start = now();
      try {
        const expected = options.expectedReplies?.get(pid);
        const responses = await transport.request(
          Uint8Array.of(0x01, pid),
          expected === undefined ? {} : { expectedReplies: expected },
        );
        scheduler.record(pid, start, now() - start, true);
        polled++;
        options.onResponse(pid, responses, wall());
      } catch (e) {
        const err = e instanceof ObdError ? e : new ObdError('BAD_REPLY', String(e));
        const linkDown = err.code === 'DISCONNECTED' || err.code === 'CLOSED';
        if (!linkDown) scheduler.record(pid, start, now() - start, false);
        options.onError?.(pid, err);
        if (linkDown && !stopped) await sleep(options.idleMs ?? 500);
      }
    }
  };
  const done = run();
  return {
    get polled() {
      return polled;
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}
