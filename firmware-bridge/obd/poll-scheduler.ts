/**
 * Polling service 01 PIDs at per-PID rates over a link whose speed is only known by measuring it.
 * An ELM327 answers one request at a time, so the achievable request rate is 1000 / round-trip ms;
 * when the rates asked for add up to more than that, every PID's rate is scaled down by the same
 * factor (their ratios stay as configured) instead of the fast PIDs starving the slow ones. The
 * next PID is the one most overdue (earliest deadline first). A PID that stops answering is backed
 * off to a tenth of its rate until it answers again. Pure logic: time comes in as arguments.
 */

/** One PID to poll. */
export interface PollTarget {
  readonly pid: number;
  readonly rateHz: number;
}

interface Slot {
  readonly pid: number;
  readonly rateHz: number;
  dueMs: number;
  failures: number;
}

export interface PollSchedulerOptions {
  readonly targets: readonly PollTarget[];
  /** Share of the measured link capacity the schedule may use (default 0.9). */
  readonly utilisation?: number;
  /** Failures in a row after which a PID is backed off (default 3). */
  readonly failuresToBackOff?: number;
}

/** Earliest-deadline-first polling with rates scaled to the measured round-trip time. */
export class PollScheduler {
  readonly #slots: Slot[];
  readonly #utilisation: number;
  readonly #failuresToBackOff: number;
  #rttMs = 0;

  constructor(options: PollSchedulerOptions) {
    if (options.targets.length === 0) throw new RangeError('nothing to poll: give at least one PID');
    for (const t of options.targets)
      if (!(t.rateHz > 0))
        throw new RangeError(`PID ${t.pid.toString(16)}: rate ${t.rateHz} Hz; expected > 0`);
    this.#slots = options.targets.map((t) => ({ pid: t.pid, rateHz: t.rateHz, dueMs: 0, failures: 0 }));
    this.#utilisation = options.utilisation ?? 0.9;
    this.#failuresToBackOff = options.failuresToBackOff ?? 3;
  }

  /** Smoothed round-trip time measured so far, ms. */
  get rttMs(): number {
    return this.#rttMs;
  }

  /** Factor (0..1] applied to every configured rate so the schedule fits the link. */
  get scale(): number {
    if (this.#rttMs <= 0) return 1;
    const capacity = (1000 / this.#rttMs) * this.#utilisation;
    const demand = this.#slots.reduce((s, x) => s + this.#rate(x, 1), 0);
    return demand <= capacity ? 1 : capacity / demand;
  }

  /** The rate each PID gets now, Hz. */
  effectiveRates(): Map<number, number> {
    const k = this.scale;
    return new Map(this.#slots.map((s) => [s.pid, this.#rate(s, k)]));
  }

  /** The PID to poll next and when it is due (ms on the caller's clock; may be in the past). */
  next(): { pid: number; dueMs: number } {
    let best = this.#slots[0]!;
    for (const s of this.#slots) if (s.dueMs < best.dueMs) best = s;
    return { pid: best.pid, dueMs: best.dueMs };
  }

  /** Records a poll of `pid` that started at `startMs` and took `rttMs`. */
  record(pid: number, startMs: number, rttMs: number, ok: boolean): void {
    this.#rttMs = this.#rttMs === 0 ? rttMs : this.#rttMs * 0.8 + rttMs * 0.2;
    const slot = this.#slots.find((s) => s.pid === pid);
    if (!slot) return;
    slot.failures = ok ? 0 : slot.failures + 1;
    const period = 1000 / this.#rate(slot, this.scale);
    // Deadlines advance from the previous deadline, not from now, so a slightly late poll does not
    // drift the schedule; one more than a period late restarts from its start time (no burst).
    const next = slot.dueMs + period;
    slot.dueMs = next < startMs ? startMs + period : next;
  }

  #rate(slot: Slot, scale: number): number {
    const backedOff = slot.failures >= this.#failuresToBackOff ? 0.1 : 1;
    return slot.rateHz * scale * backedOff;
  }
}
