/**
 * Replays logged CAN frames onto a bus as canplayer does: with the log's own timing scaled by a
 * speed factor (2 = twice as fast, 0 = as fast as the bus takes them), optionally looping, and
 * stoppable at any time. Frames go out with `send` (a real interface or a memory bus), so the
 * receiving side sees them as traffic from another node. Time comes through a small clock so tests
 * need not wait.
 */
import type { CanBus, CanFrame } from '../firmware-bridge/index.js';

export interface ReplayClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realReplayClock: ReplayClock = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface ReplayOptions {
  readonly frames: readonly CanFrame[];
  /** Where to send; a log's bus names can be mapped (`can0` in the log -> `vcan0` here). */
  readonly bus: CanBus;
  /** Only frames logged on this bus (default: all). */
  readonly fromBus?: string;
  /** 1 = original timing, 2 = twice as fast, 0 = no waiting. */
  readonly speed?: number;
  /** Times to play the log; 0 = forever (until stopped). Default 1. */
  readonly loops?: number;
  readonly clock?: ReplayClock;
  readonly signal?: AbortSignal;
  /** Called after each frame is sent. */
  readonly onFrame?: (frame: CanFrame, index: number) => void;
}

/** What a replay did. */
export interface ReplayResult {
  readonly sent: number;
  readonly failed: number;
  readonly loops: number;
  /** Largest lag behind the log's schedule, in ms (how well timing was kept). */
  readonly maxLagMs: number;
}

/** Plays the frames; resolves when done or stopped. Send failures are counted, not thrown. */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const clock = options.clock ?? realReplayClock;
  const speed = options.speed ?? 1;
  if (!(speed >= 0) || !Number.isFinite(speed))
    throw new RangeError(`speed ${speed}; expected a number >= 0`);
  const frames =
    options.fromBus === undefined ? options.frames : options.frames.filter((f) => f.bus === options.fromBus);
  const loopsWanted = options.loops ?? 1;
  let sent = 0;
  let failed = 0;
  let loops = 0;
  let maxLagMs = 0;
  if (frames.length === 0) return { sent, failed, loops, maxLagMs };
  const t0Log = frames[0]!.wallUs;
  while (loopsWanted === 0 || loops < loopsWanted) {
    const startMs = clock.nowMs();
    for (let i = 0; i < frames.length; i++) {
      if (options.signal?.aborted) return { sent, failed, loops, maxLagMs };
      const f = frames[i]!;
      if (speed > 0) {
        const dueMs = startMs + (f.wallUs - t0Log) / 1000 / speed;
        const waitMs = dueMs - clock.nowMs();
        if (waitMs > 1) await clock.sleep(waitMs);
        maxLagMs = Math.max(maxLagMs, clock.nowMs() - dueMs);
      }
      try {
        await options.bus.send({
          id: f.id,
          extended: f.extended,
          rtr: f.rtr,
          fd: f.fd,
          ...(f.brs ? { brs: true } : {}),
          data: f.rtr ? new Uint8Array(f.dlc ?? 0) : f.data,
        });
        sent++;
        options.onFrame?.(f, i);
      } catch {
        failed++;
      }
    }
    loops++;
  }
  return { sent, failed, loops, maxLagMs };
}
