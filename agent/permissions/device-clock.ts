/**
 * `DeviceClock`: the time the permissions judge grants and commands by, and whether the device's
 * wall clock can be trusted for control (issue 14, attack 6).
 *
 * The wall clock of a device in a car is the weakest clock it has: no RTC battery (it boots at the
 * image's build date), an NTP or GNSS step, an owner's `date -s`. When it stepped back, grants that
 * had ended were valid again and commands whose nonces had been forgotten replayed. So:
 *
 * - `nowMs()` never goes back. It is the wall clock, or when the wall clock is behind, a floor: the
 *   highest wall time seen, carried forward on the monotonic clock. The floor is saved in the
 *   permission store (at most once a minute), so a reboot with a clock in the past does not revive
 *   the grants that had ended before it: the floor is a lower bound on the real time.
 * - `status()` says whether the wall clock is sound. It is not when it is behind the floor by more
 *   than `boundMs` (it stepped back), when it disagrees with the GNSS receiver's UTC time (a fix
 *   received in the last `maxReferenceAgeMs`, carried forward on the monotonic clock) by more than
 *   `boundMs`, or when it is behind the chain's latest final header by more than `boundMs` (that
 *   block was made in the past, so real time is at least its time; a wall clock ahead of it says
 *   nothing, since the chain view may be behind). Control is refused while it is unsound
 *   (CLOCK_UNSOUND); listening goes on.
 * - A GNSS fix that agrees with the wall clock makes it sound again and moves the floor to it, even
 *   down: the earlier, higher time was the wrong one (a clock once stepped forward by mistake must
 *   not stop control for good).
 * - While unsound, `validityNowMs()` is `nowMs()` plus the disagreement: a grant that ends within
 *   the window of doubt is treated as ended.
 */

/** A reference time: the UTC it read and the monotonic time (ms) at which it was read. */
export interface ReferenceTime {
  readonly utcMs: number;
  readonly atMonoMs: number;
}

/** Where the floor survives restarts (the permission store). */
export interface ClockFloorStore {
  clockFloor(): number | undefined;
  saveClockFloor(ms: number): void;
}

export interface DeviceClockOptions {
  /** Wall clock, ms since the epoch. */
  readonly wallMs: () => number;
  /** Monotonic clock, ms (performance.now in the agent). */
  readonly monoMs: () => number;
  /** The latest GNSS time (from the agent's fixes), if any. */
  readonly gnssTime?: () => ReferenceTime | undefined;
  /** The time of the light client's latest final header, ms, if any. */
  readonly chainTimeMs?: () => number | undefined;
  /** Largest disagreement tolerated between the wall clock and a reference, ms (default 5000). */
  readonly boundMs?: number;
  /** A GNSS time older than this (monotonic) is no reference, ms (default 10 000). */
  readonly maxReferenceAgeMs?: number;
  readonly floor?: ClockFloorStore;
}

/** What the local API shows of the clock. */
export interface ClockStatus {
  readonly sound: boolean;
  /** Why it is not sound (empty when it is). */
  readonly reasons: readonly string[];
  readonly wallMs: number;
  /** The device's time (never goes back). */
  readonly nowMs: number;
  /** Wall clock minus the GNSS time, ms, when a recent fix gave one. */
  readonly gnssOffsetMs: number | null;
  /** Wall clock minus the chain's latest final header time, ms, when known. */
  readonly chainOffsetMs: number | null;
  /** Largest disagreement found now, ms (0 when sound). */
  readonly disagreementMs: number;
}

/** The defaults of the bound and the reference age. */
export const DEVICE_CLOCK_DEFAULTS = { boundMs: 5000, maxReferenceAgeMs: 10_000 } as const;

const FLOOR_SAVE_EVERY_MS = 60_000;

export class DeviceClock {
  readonly #o: DeviceClockOptions;
  readonly #boundMs: number;
  readonly #maxRefAgeMs: number;
  /** The highest trusted wall time and the monotonic time it was taken at. */
  #floorMs: number;
  #floorMono: number;
  #savedMono = Number.NEGATIVE_INFINITY;

  constructor(options: DeviceClockOptions) {
    this.#o = options;
    this.#boundMs = options.boundMs ?? DEVICE_CLOCK_DEFAULTS.boundMs;
    this.#maxRefAgeMs = options.maxReferenceAgeMs ?? DEVICE_CLOCK_DEFAULTS.maxReferenceAgeMs;
    // The saved floor is not carried forward over the time the agent was down (unknown): it is a
    // lower bound of the real time, nothing more.
    this.#floorMs = options.floor?.clockFloor() ?? Number.NEGATIVE_INFINITY;
    this.#floorMono = options.monoMs();
  }

  /** The device's time, ms since the epoch: the wall clock, never below the carried-forward floor. */
  nowMs(): number {
    return this.status().nowMs;
  }

  /** The time grant validity is judged at: `nowMs()`, plus the disagreement while unsound. */
  validityNowMs(): number {
    const s = this.status();
    return s.nowMs + s.disagreementMs;
  }

  /** Whether the wall clock is sound now, and why not. */
  status(): ClockStatus {
    const { wall, mono, nowMs } = this.#read();
    const reasons: string[] = [];
    let disagreement = 0;
    let now = nowMs;
    const behindFloor = nowMs - wall;
    if (behindFloor > this.#boundMs) {
      reasons.push(`the wall clock stepped back: ${behindFloor} ms behind the time already seen`);
      disagreement = Math.max(disagreement, behindFloor);
    }
    let gnssOffsetMs: number | null = null;
    const g = this.#o.gnssTime?.();
    if (g !== undefined && mono - g.atMonoMs <= this.#maxRefAgeMs && Number.isFinite(g.utcMs)) {
      gnssOffsetMs = Math.round(wall - (g.utcMs + (mono - g.atMonoMs)));
      if (Math.abs(gnssOffsetMs) > this.#boundMs) {
        reasons.push(`the wall clock is ${gnssOffsetMs} ms off the GNSS time`);
        disagreement = Math.max(disagreement, Math.abs(gnssOffsetMs));
      } else if (behindFloor > this.#boundMs) {
        // GNSS confirms the wall clock: the higher floor was the wrong time. Start again from here.
        this.#setFloor(wall, mono, true);
        reasons.length = 0;
        disagreement = 0;
        now = wall;
      }
    }
    let chainOffsetMs: number | null = null;
    const c = this.#o.chainTimeMs?.();
    if (c !== undefined) {
      chainOffsetMs = wall - c;
      if (chainOffsetMs < -this.#boundMs) {
        reasons.push(`the wall clock is ${-chainOffsetMs} ms behind the chain's latest final block`);
        disagreement = Math.max(disagreement, -chainOffsetMs);
      }
    }
    return {
      sound: reasons.length === 0,
      reasons,
      wallMs: wall,
      nowMs: now,
      gnssOffsetMs,
      chainOffsetMs,
      disagreementMs: disagreement,
    };
  }

  /** Saves the floor now (at shutdown). */
  save(): void {
    const { mono } = this.#read();
    this.#save(mono, true);
  }

  #read(): { wall: number; mono: number; nowMs: number } {
    const wall = this.#o.wallMs();
    const mono = this.#o.monoMs();
    // Whole ms: the time goes into signed receipts and transactions (canonical CBOR integers).
    const carried = Math.floor(this.#floorMs + (mono - this.#floorMono));
    if (wall >= carried) {
      this.#setFloor(wall, mono, false);
      return { wall, mono, nowMs: wall };
    }
    return { wall, mono, nowMs: carried };
  }

  #setFloor(wall: number, mono: number, saveNow: boolean): void {
    this.#floorMs = wall;
    this.#floorMono = mono;
    this.#save(mono, saveNow);
  }

  #save(mono: number, force: boolean): void {
    const f = this.#o.floor;
    if (f === undefined || !Number.isFinite(this.#floorMs)) return;
    if (!force && mono - this.#savedMono < FLOOR_SAVE_EVERY_MS) return;
    this.#savedMono = mono;
    f.saveClockFloor(Math.floor(this.#floorMs + (mono - this.#floorMono)));
  }
}
