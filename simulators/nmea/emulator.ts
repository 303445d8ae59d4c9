/**
 * The NMEA emulator: a GPS receiver on a `SerialLink`. It either replays a captured log epoch by
 * epoch with the receiver's own pacing (times a speed factor), or drives the vehicle model along its
 * route and writes what a receiver in that car would send. It stops when `signal` aborts, after
 * `maxEpochs`, at the end of a log (unless looping), or when the link closes.
 */
import type { SerialLink } from '../../firmware-bridge/index.js';
import type { VehicleModel } from '../vehicle/model.js';
import { epochGapMs, type LogEpoch } from './nmea-log.js';
import { epochSentences, type NmeaWriterOptions } from './nmea-writer.js';

export type EmulatorFeed =
  | {
      readonly kind: 'log';
      readonly epochs: readonly LogEpoch[];
      /** 1 original pacing, 2 twice as fast, 0 as fast as possible. */
      readonly speed: number;
      readonly loop?: boolean;
    }
  | {
      readonly kind: 'route';
      readonly model: VehicleModel;
      /** Epochs per second (1..10). */
      readonly rateHz: number;
      /** UTC time of the first epoch (default: now, rounded to the epoch). */
      readonly startUtcMs?: number;
      /** Time factor for the pacing, as for logs (0: no waiting). */
      readonly speed?: number;
      readonly writer?: NmeaWriterOptions;
    };

export interface NmeaEmulatorOptions {
  readonly link: SerialLink;
  readonly feed: EmulatorFeed;
  readonly signal?: AbortSignal;
  readonly maxEpochs?: number;
  /** A write the other side does not drain within this is dropped (default 1000 ms). */
  readonly writeTimeoutMs?: number;
  /** Called after each epoch is written. */
  readonly onEpoch?: (index: number, lines: readonly string[]) => void;
}

/** What the emulator did, and why it stopped. */
export interface EmulatorResult {
  epochs: number;
  sentences: number;
  bytes: number;
  droppedWrites: number;
  stopped: 'aborted' | 'max-epochs' | 'end-of-log' | 'link-closed';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return new Promise((r) => setImmediate(r));
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs the emulator until one of its stop conditions. */
export async function runNmeaEmulator(options: NmeaEmulatorOptions): Promise<EmulatorResult> {
  const { link, feed, signal } = options;
  const r: EmulatorResult = { epochs: 0, sentences: 0, bytes: 0, droppedWrites: 0, stopped: 'aborted' };
  let closed = !link.isOpen;
  const unsub = link.onClose(() => {
    closed = true;
  });
  const timeoutMs = options.writeTimeoutMs ?? 1000;
  const write = async (text: string): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      link.write(text).then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') r.droppedWrites++;
    return outcome !== 'failed';
  };
  const emit = async (lines: readonly string[]): Promise<boolean> => {
    const text = lines.map((l) => (l.endsWith('\n') ? l : `${l}\r\n`)).join('');
    if (!(await write(text))) return false;
    r.sentences += lines.length;
    r.bytes += text.length;
    options.onEpoch?.(r.epochs, lines);
    r.epochs++;
    return true;
  };
  try {
    if (feed.kind === 'log') {
      let i = 0;
      for (;;) {
        if (signal?.aborted) return r;
        if (closed) return { ...r, stopped: 'link-closed' };
        if (options.maxEpochs !== undefined && r.epochs >= options.maxEpochs)
          return { ...r, stopped: 'max-epochs' };
        if (i >= feed.epochs.length) {
          if (!feed.loop || feed.epochs.length === 0) return { ...r, stopped: 'end-of-log' };
          i = 0;
        }
        await sleep(i === 0 ? 0 : epochGapMs(feed.epochs, i, feed.speed), signal);
        if (signal?.aborted) return r;
        if (!(await emit(feed.epochs[i]!.lines))) return { ...r, stopped: 'link-closed' };
        i++;
      }
    }
    const periodMs = 1000 / Math.min(10, Math.max(1, feed.rateHz));
    const speed = feed.speed ?? 1;
    let utcMs = feed.startUtcMs ?? Math.floor(Date.now() / periodMs) * periodMs;
    let state = feed.model.current();
    for (;;) {
      if (signal?.aborted) return r;
      if (closed) return { ...r, stopped: 'link-closed' };
      if (options.maxEpochs !== undefined && r.epochs >= options.maxEpochs)
        return { ...r, stopped: 'max-epochs' };
      if (!(await emit(epochSentences(state, utcMs, feed.writer)))) return { ...r, stopped: 'link-closed' };
      await sleep(speed > 0 ? periodMs / speed : 0, signal);
      state = feed.model.step(periodMs);
      utcMs += periodMs;
    }
  } finally {
    unsub();
  }
}
