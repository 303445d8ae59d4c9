/**
 * Groups NMEA sentences into one `GnssFix` per receiver epoch. A receiver sends a burst of sentences
 * per epoch (GGA, GSA, GSV..., RMC, often VTG, GLL, ZDA) that share one UTC time of day; the sentences
 * without a time (GSA, GSV, VTG) belong to the epoch they arrive in. An epoch ends when a sentence
 * with another time starts the next one, or, without waiting for that, at the epoch's last timed
 * sentence: the assembler learns which one that is from the first epochs it sees, as gpsd learns
 * its "cycle ender". Only timed sentences can end an epoch, because an untimed one at the end is
 * ambiguous: a SiRF receiver sends each epoch's GSA before its RMC, so a GSA after an RMC belongs to
 * the next epoch. Among epochs, the one with the most distinct sentences teaches the ender, so a
 * receiver that sends GGA at 10 Hz and RMC at 1 Hz (the OxTS log) still closes full epochs on RMC.
 *
 * How the fields combine (what the receiver logs in ../shared/data/nmea show receivers do):
 * - any explicit "no fix" in the epoch (RMC or GLL status V, GGA quality 0, GSA mode 1, FAA mode N)
 *   makes it mode 1, without position, speed or course: receivers repeat their last position then;
 * - otherwise GSA's mode (the receiver's own 2D/3D statement) wins; without GSA a GGA with an
 *   altitude is 3D, RMC or GLL alone are 2D;
 * - position from GGA (the one from most satellites when several talkers send one), else RMC, else
 *   GLL; speed and course from RMC, else VTG; DOPs from GSA, else HDOP from GGA;
 * - the date from RMC or ZDA, carried to later epochs (and over midnight) when they have none.
 */
import {
  FIX_MODE,
  type FixMode,
  type FixQuality,
  type GnssClock,
  type GnssFix,
  systemGnssClock,
} from './fix.js';
import type {
  GgaSentence,
  GllSentence,
  GsaSentence,
  GstSentence,
  GsvSentence,
  NmeaSentence,
  RmcSentence,
  VtgSentence,
  ZdaSentence,
} from './nmea-parse.js';

const DAY_MS = 86_400_000;
const KNOT_KMH = 1.852;
/** An epoch holding more sentences than this is closed (a receiver that never sends a time). */
const MAX_EPOCH_SENTENCES = 64;

export interface FixAssemblerOptions {
  /** Receives each fix as its epoch completes. */
  readonly onFix: (fix: GnssFix) => void;
  readonly clock?: GnssClock;
}

/** Counters of the assembler. */
export interface FixAssemblerStats {
  /** Fixes emitted (one per epoch). */
  fixes: number;
  /** Epochs closed by their learned last sentence (the rest closed when the next epoch started). */
  closedByEnder: number;
  /** Timed sentences that arrived after their epoch had been emitted (dropped; the ender is relearned). */
  lateSentences: number;
}

type Timed = GgaSentence | RmcSentence | GllSentence | ZdaSentence | GstSentence;
type Known = Exclude<NmeaSentence, { type: 'other' }>;

interface Epoch {
  timeOfDayMs: number | undefined;
  sentences: Known[];
  counts: Map<string, number>;
  /** The last sentence with a time: the candidate ender. */
  lastTimedKey: string | undefined;
}

function keyOf(s: Known): string {
  if (s.type !== 'GSV') return s.talker + s.type;
  const series = `${s.talker}GSV${s.signalId ?? ''}`;
  return s.index === s.total ? `${series}:last` : `${series}:${s.index}`;
}

function isTimed(s: Known): s is Timed {
  return s.type === 'GGA' || s.type === 'RMC' || s.type === 'GLL' || s.type === 'ZDA' || s.type === 'GST';
}

const GGA_QUALITY: readonly (FixQuality | undefined)[] = [
  undefined,
  'gps',
  'dgps',
  'pps',
  'rtk-fixed',
  'rtk-float',
  'dead-reckoning',
  'manual',
  'simulated',
];

const FAA_QUALITY: Readonly<Record<string, FixQuality>> = {
  A: 'gps',
  D: 'dgps',
  E: 'dead-reckoning',
  M: 'manual',
  S: 'simulated',
  R: 'rtk-fixed',
  F: 'rtk-float',
  P: 'gps',
};

export class FixAssembler {
  readonly stats: FixAssemblerStats = { fixes: 0, closedByEnder: 0, lateSentences: 0 };
  readonly #onFix: (fix: GnssFix) => void;
  readonly #clock: GnssClock;
  #epoch: Epoch | undefined;
  #ender: string | undefined;
  #enderSize = 0;
  #lastEmittedTime: number | undefined;
  #dateMs: number | undefined;
  #dateTimeOfDayMs = 0;

  constructor(options: FixAssemblerOptions) {
    this.#onFix = options.onFix;
    this.#clock = options.clock ?? systemGnssClock;
  }

  /** The sentence that closes an epoch, once learned (`GNRMC`, `GPGSV:last` ...). */
  get ender(): string | undefined {
    return this.#ender;
  }

  /** Adds one sentence; may emit the previous epoch's fix and, at the learned ender, this one's. */
  push(s: NmeaSentence): void {
    if (s.type === 'other') return;
    const key = keyOf(s);
    const t = isTimed(s) ? s.timeOfDayMs : undefined;
    let ep = this.#epoch;
    if (t !== undefined) {
      if ((ep === undefined || ep.timeOfDayMs === undefined) && t === this.#lastEmittedTime) {
        // The ender was wrong for this epoch: it was not its last sentence.
        this.stats.lateSentences++;
        this.#ender = undefined;
        this.#enderSize = 0;
        return;
      }
      if (ep !== undefined && ep.timeOfDayMs !== undefined && ep.timeOfDayMs !== t) {
        this.#close(ep, true);
        ep = undefined;
      }
    } else if (ep !== undefined && ep.timeOfDayMs === undefined && isTimed(s) && ep.counts.has(key)) {
      // No time at all (a cold receiver): a repeated GGA/RMC/GLL starts the next epoch.
      this.#close(ep, true);
      ep = undefined;
    }
    if (ep === undefined) {
      ep = { timeOfDayMs: undefined, sentences: [], counts: new Map(), lastTimedKey: undefined };
      this.#epoch = ep;
    }
    if (t !== undefined) ep.timeOfDayMs = t;
    ep.sentences.push(s);
    ep.counts.set(key, (ep.counts.get(key) ?? 0) + 1);
    if (t !== undefined) ep.lastTimedKey = key;
    if (t !== undefined && key === this.#ender) {
      this.stats.closedByEnder++;
      this.#close(ep, false);
    } else if (ep.sentences.length >= MAX_EPOCH_SENTENCES) this.#close(ep, false);
  }

  /**
   * Emits the open epoch (end of input, or the receiver went quiet). An epoch of untimed sentences
   * only (a VTG or GSA sent after the epoch's last timed sentence) is not a fix: it is dropped.
   */
  flush(): void {
    const ep = this.#epoch;
    if (ep === undefined) return;
    if (ep.sentences.some(isTimed)) this.#close(ep, true);
    else this.#epoch = undefined;
  }

  /** Forgets the open epoch and the learned ender (the port was reopened, maybe to another receiver). */
  reset(): void {
    this.#epoch = undefined;
    this.#ender = undefined;
    this.#enderSize = 0;
    this.#lastEmittedTime = undefined;
  }

  #close(ep: Epoch, learn: boolean): void {
    this.#epoch = undefined;
    const last = ep.lastTimedKey;
    if (learn && last !== undefined && ep.counts.get(last) === 1) {
      // Prefer the ender of the richest epoch: sparse epochs (10 Hz GGA between 1 Hz full sets)
      // would otherwise teach an ender that cuts the full epochs short.
      if (this.#ender === undefined || ep.counts.size > this.#enderSize) {
        this.#ender = last;
        this.#enderSize = ep.counts.size;
      }
    }
    this.#lastEmittedTime = ep.timeOfDayMs;
    const fix = this.#compose(ep);
    this.stats.fixes++;
    this.#onFix(fix);
  }

  #compose(ep: Epoch): GnssFix {
    let gga: GgaSentence | undefined;
    let rmc: RmcSentence | undefined;
    let gll: GllSentence | undefined;
    let vtg: VtgSentence | undefined;
    let zda: ZdaSentence | undefined;
    let gst: GstSentence | undefined;
    const gsas: GsaSentence[] = [];
    const gsvs: GsvSentence[] = [];
    const talkers = new Set<string>();
    for (const s of ep.sentences) {
      talkers.add(s.talker);
      switch (s.type) {
        case 'GGA':
          if (gga === undefined || (s.satsUsed ?? 0) > (gga.satsUsed ?? 0)) gga = s;
          break;
        case 'RMC':
          rmc ??= s;
          break;
        case 'GLL':
          gll ??= s;
          break;
        case 'VTG':
          vtg ??= s;
          break;
        case 'ZDA':
          zda ??= s;
          break;
        case 'GST':
          gst ??= s;
          break;
        case 'GSA':
          gsas.push(s);
          break;
        case 'GSV':
          gsvs.push(s);
          break;
      }
    }
    let gsaMode: number | undefined;
    for (const g of gsas) if (g.navMode !== undefined) gsaMode = Math.max(gsaMode ?? 0, g.navMode);
    const noFix =
      rmc?.valid === false ||
      rmc?.faaMode === 'N' ||
      gll?.valid === false ||
      gga?.quality === 0 ||
      gsaMode === 1;
    let mode: FixMode = FIX_MODE.none;
    if (!noFix) {
      if (gsaMode === 2 || gsaMode === 3) mode = gsaMode;
      else if (gga !== undefined && gga.latDeg !== undefined)
        mode = gga.altM !== undefined ? FIX_MODE.threeD : FIX_MODE.twoD;
      else if (rmc?.latDeg !== undefined || gll?.latDeg !== undefined) mode = FIX_MODE.twoD;
    }

    const wallMs = this.#clock.wallMs();
    const monoMs = this.#clock.monoMs();
    const timeOfDayMs = ep.timeOfDayMs;
    const dateMs = this.#date(rmc?.dateMs ?? zda?.dateMs, timeOfDayMs);
    const out: { -readonly [K in keyof GnssFix]: GnssFix[K] } = {
      source: 'nmea',
      mode,
      wallMs,
      monoMs,
      talkers: [...talkers],
    };
    if (timeOfDayMs !== undefined) out.timeOfDayMs = timeOfDayMs;
    if (timeOfDayMs !== undefined && dateMs !== undefined) out.timeMs = dateMs + timeOfDayMs;
    const quality =
      gga !== undefined && gga.quality > 0 ? GGA_QUALITY[gga.quality] : FAA_QUALITY[rmc?.faaMode ?? ''];
    if (mode >= FIX_MODE.twoD) {
      if (quality !== undefined) out.quality = quality;
      const pos =
        gga?.latDeg !== undefined && gga.lonDeg !== undefined
          ? gga
          : rmc?.latDeg !== undefined && rmc.lonDeg !== undefined
            ? rmc
            : gll;
      if (pos?.latDeg !== undefined && pos.lonDeg !== undefined) {
        out.latDeg = pos.latDeg;
        out.lonDeg = pos.lonDeg;
      }
      if (mode === FIX_MODE.threeD && gga?.altM !== undefined) out.altM = gga.altM;
      if (gga?.geoidSepM !== undefined) out.geoidSepM = gga.geoidSepM;
      const speedKmh =
        rmc?.speedKn !== undefined
          ? rmc.speedKn * KNOT_KMH
          : (vtg?.speedKmh ?? (vtg?.speedKn === undefined ? undefined : vtg.speedKn * KNOT_KMH));
      if (speedKmh !== undefined) out.speedKmh = speedKmh;
      const course = rmc?.courseDeg ?? vtg?.courseDeg;
      if (course !== undefined)
        out.courseDeg = course >= 0 && course < 360 ? course : ((course % 360) + 360) % 360;
      if (gst?.latErrM !== undefined && gst.lonErrM !== undefined)
        out.horizontalErrorM = Math.hypot(gst.latErrM, gst.lonErrM);
      if (gst?.altErrM !== undefined) out.verticalErrorM = gst.altErrM;
    }
    const used = new Set<string>();
    for (const g of gsas) for (const id of g.satIds) used.add(`${g.systemId ?? g.talker}:${id}`);
    if (used.size > 0) out.satsUsed = used.size;
    else if (gga?.satsUsed !== undefined) out.satsUsed = gga.satsUsed;
    const inView = satellitesInView(gsvs);
    if (inView !== undefined) out.satsInView = inView;
    const dopGsa = gsas.find((g) => g.pdop !== undefined || g.hdop !== undefined || g.vdop !== undefined);
    const hdop = dopGsa?.hdop ?? gga?.hdop;
    if (hdop !== undefined) out.hdop = hdop;
    if (dopGsa?.vdop !== undefined) out.vdop = dopGsa.vdop;
    if (dopGsa?.pdop !== undefined) out.pdop = dopGsa.pdop;
    return out;
  }

  /** The UTC date for this epoch: its own, or the last known one moved over midnight. */
  #date(own: number | undefined, timeOfDayMs: number | undefined): number | undefined {
    if (own !== undefined) {
      this.#dateMs = own;
      this.#dateTimeOfDayMs = timeOfDayMs ?? 0;
      return own;
    }
    if (this.#dateMs === undefined || timeOfDayMs === undefined) return this.#dateMs;
    if (timeOfDayMs < this.#dateTimeOfDayMs - DAY_MS / 2) this.#dateMs += DAY_MS;
    this.#dateTimeOfDayMs = timeOfDayMs;
    return this.#dateMs;
  }
}

/** Satellites in view: per talker the largest count any of its GSV series declares, summed. */
function satellitesInView(gsvs: readonly GsvSentence[]): number | undefined {
  if (gsvs.length === 0) return undefined;
  const perTalker = new Map<string, number>();
  for (const g of gsvs) perTalker.set(g.talker, Math.max(perTalker.get(g.talker) ?? 0, g.inView));
  let n = 0;
  for (const v of perTalker.values()) n += v;
  return n;
}
