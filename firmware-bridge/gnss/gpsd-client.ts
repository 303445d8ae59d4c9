/**
 * A gpsd client: gpsd's JSON protocol on TCP (port 2947 by default). On connect it sends
 * `?WATCH={"enable":true,"json":true}`, then turns each TPV report into a `GnssFix` (merging the DOPs
 * and satellite counts of the latest SKY report), reports VERSION and DEVICES as info events, and
 * reconnects with a growing wait when gpsd goes away. The transport is injected (`connectTcp` on a
 * device), so the protocol logic is tested over an in-memory pair too.
 *
 * Protocol reference: gpsd_json(5). TPV `mode` 0 means gpsd has seen no data yet and is skipped;
 * speeds are m/s, altitudes `altMSL` (gpsd >= 3.20) or `alt` (older), errors `eph`/`epv` in metres.
 */
import type { SerialLink } from '../serial/serial-link.js';
import {
  FIX_MODE,
  type FixMode,
  type FixQuality,
  type GnssClock,
  type GnssFix,
  systemGnssClock,
} from './fix.js';
import {
  Backoff,
  type GnssSource,
  GnssSourceError,
  type GnssSourceEvent,
  type GnssSourceStats,
  type RetryOptions,
  SourceListeners,
} from './source.js';

export interface GpsdClientOptions extends RetryOptions {
  readonly host: string;
  readonly port: number;
  /** Opens the byte stream to gpsd (`connectTcp`). */
  readonly connect: (target: { host: string; port: number }) => Promise<SerialLink>;
  /** Only fixes of this device path (gpsd may serve several receivers); default all. */
  readonly device?: string;
  readonly clock?: GnssClock;
}

/** Longest JSON line kept (a SKY report with 60 satellites is about 6 kB). */
const MAX_LINE = 64 * 1024;

/** gpsd TPV `status`: 2 DGPS, 3 RTK fixed, 4 RTK float, 5 dead reckoning, 6 GNSS+DR, 7 time only, 8 simulated. */
const STATUS_QUALITY: Readonly<Record<number, FixQuality>> = {
  1: 'gps',
  2: 'dgps',
  3: 'rtk-fixed',
  4: 'rtk-float',
  5: 'dead-reckoning',
  6: 'dead-reckoning',
  8: 'simulated',
};

interface Sky {
  hdop?: number;
  vdop?: number;
  pdop?: number;
  nSat?: number;
  uSat?: number;
}

/**
 * Connects and starts watching. Rejects with GnssSourceError CONNECT_FAILED if the first connect
 * fails, unless `retryFirstOpen`, which keeps trying in the background.
 */
export async function openGpsdClient(options: GpsdClientOptions): Promise<GnssSource> {
  const c = new GpsdClient(options);
  try {
    await c.connect();
  } catch (err) {
    const where = `${options.host}:${options.port}`;
    if (!options.retryFirstOpen) throw new GnssSourceError('CONNECT_FAILED', where, (err as Error).message);
    c.retryLater((err as Error).message);
  }
  return c;
}

class GpsdClient implements GnssSource {
  readonly name: string;
  readonly #where: string;
  readonly #listeners = new SourceListeners();
  readonly #backoff: Backoff;
  readonly #clock: GnssClock;
  readonly #counts = {
    tpv: 0,
    sky: 0,
    version: 0,
    devices: 0,
    errors: 0,
    badJson: 0,
    overlong: 0,
    outOfRange: 0,
    skipped: 0,
  };
  #link: SerialLink | undefined;
  #unsubscribe: (() => void)[] = [];
  #pending = '';
  #sky: Sky = {};
  #closed = false;
  #connects = 0;
  #disconnects = 0;
  #fixes = 0;

  readonly #options: GpsdClientOptions;

  constructor(options: GpsdClientOptions) {
    this.#options = options;
    this.#where = `${options.host}:${options.port}`;
    this.name = `gpsd:${this.#where}`;
    this.#backoff = new Backoff(options);
    this.#clock = options.clock ?? systemGnssClock;
  }

  /** @internal Connects once and sends WATCH; rejects with the transport's error. */
  async connect(): Promise<void> {
    const link = await this.#options.connect({ host: this.#options.host, port: this.#options.port });
    if (this.#closed) {
      await link.close();
      return;
    }
    this.#link = link;
    this.#pending = '';
    this.#sky = {};
    if (this.#connects++ > 0) this.#backoff.succeeded();
    this.#unsubscribe = [link.onData((c) => this.#onData(c)), link.onClose((i) => this.#onClose(i))];
    const watch: Record<string, unknown> = { enable: true, json: true };
    if (this.#options.device !== undefined) watch.device = this.#options.device;
    await link.write(`?WATCH=${JSON.stringify(watch)}\n`);
    this.#emitEvent({ type: 'open', where: this.#where });
  }

  onFix(listener: (fix: GnssFix) => void): () => void {
    return this.#listeners.onFix(listener);
  }

  onEvent(listener: (event: GnssSourceEvent) => void): () => void {
    return this.#listeners.onEvent(listener);
  }

  stats(): GnssSourceStats {
    return {
      fixes: this.#fixes,
      reopens: Math.max(0, this.#connects - 1),
      disconnects: this.#disconnects,
      badInput: this.#counts.badJson + this.#counts.overlong + this.#counts.outOfRange,
      detail: { ...this.#counts },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#backoff.cancel();
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#link?.close();
    this.#link = undefined;
  }

  #emitEvent(e: GnssSourceEvent): void {
    this.#listeners.emitEvent(e);
  }

  #onData(chunk: Uint8Array): void {
    let text = this.#pending + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      const line = text.slice(0, nl).trim();
      if (line.length > 0) this.#onLine(line);
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    if (text.length > MAX_LINE) {
      this.#counts.overlong++;
      this.#emitEvent({
        type: 'bad-input',
        where: this.#where,
        problem: `a line longer than ${MAX_LINE} bytes`,
      });
      text = '';
    }
    this.#pending = text;
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      msg = v as Record<string, unknown>;
    } catch (err) {
      this.#counts.badJson++;
      this.#emitEvent({
        type: 'bad-input',
        where: this.#where,
        problem: `expected a JSON object per line (${(err as Error).message}); found '${line.slice(0, 60)}'`,
      });
      return;
    }
    if (msg.class === 'TPV' || msg.class === 'SKY') {
      const problem = outOfRange(msg);
      if (problem !== undefined) {
        this.#counts.outOfRange++;
        this.#emitEvent({ type: 'bad-input', where: this.#where, problem });
        return;
      }
    }
    switch (msg.class) {
      case 'TPV':
        this.#counts.tpv++;
        this.#onTpv(msg);
        return;
      case 'SKY':
        this.#counts.sky++;
        this.#onSky(msg);
        return;
      case 'VERSION':
        this.#counts.version++;
        this.#emitEvent({
          type: 'info',
          where: this.#where,
          message: `gpsd ${String(msg.release)} protocol ${String(msg.proto_major)}.${String(msg.proto_minor)}`,
        });
        return;
      case 'DEVICES': {
        this.#counts.devices++;
        const devices = Array.isArray(msg.devices) ? (msg.devices as { path?: unknown }[]) : [];
        this.#emitEvent({
          type: 'info',
          where: this.#where,
          message: `devices: ${devices.map((d) => String(d.path)).join(', ') || 'none'}`,
        });
        return;
      }
      case 'ERROR':
        this.#counts.errors++;
        this.#emitEvent({ type: 'info', where: this.#where, message: `gpsd error: ${String(msg.message)}` });
        return;
      default:
        this.#counts.skipped++;
    }
  }

  #wantDevice(msg: Record<string, unknown>): boolean {
    return (
      this.#options.device === undefined || msg.device === undefined || msg.device === this.#options.device
    );
  }

  #onSky(msg: Record<string, unknown>): void {
    if (!this.#wantDevice(msg)) return;
    const sats = Array.isArray(msg.satellites) ? (msg.satellites as { used?: unknown }[]) : undefined;
    const sky: Sky = {};
    const hdop = finite(msg.hdop);
    const vdop = finite(msg.vdop);
    const pdop = finite(msg.pdop);
    const nSat = finite(msg.nSat) ?? sats?.length;
    const uSat = finite(msg.uSat) ?? sats?.filter((s) => s.used === true).length;
    if (hdop !== undefined) sky.hdop = hdop;
    if (vdop !== undefined) sky.vdop = vdop;
    if (pdop !== undefined) sky.pdop = pdop;
    if (nSat !== undefined) sky.nSat = nSat;
    if (uSat !== undefined) sky.uSat = uSat;
    this.#sky = sky;
  }

  #onTpv(msg: Record<string, unknown>): void {
    if (!this.#wantDevice(msg)) return;
    const modeRaw = finite(msg.mode);
    if (modeRaw === undefined || modeRaw < 1 || modeRaw > 3) {
      this.#counts.skipped++;
      return;
    }
    const mode = modeRaw as FixMode;
    const fix: { -readonly [K in keyof GnssFix]: GnssFix[K] } = {
      source: 'gpsd',
      mode,
      wallMs: this.#clock.wallMs(),
      monoMs: this.#clock.monoMs(),
    };
    if (typeof msg.time === 'string') {
      const t = Date.parse(msg.time);
      if (Number.isFinite(t)) {
        fix.timeMs = t;
        fix.timeOfDayMs = ((t % 86_400_000) + 86_400_000) % 86_400_000;
      }
    }
    if (mode >= FIX_MODE.twoD) {
      const status = finite(msg.status) ?? 1;
      const q = STATUS_QUALITY[status];
      if (q !== undefined) fix.quality = q;
      const lat = finite(msg.lat);
      const lon = finite(msg.lon);
      if (lat !== undefined && lon !== undefined) {
        fix.latDeg = lat;
        fix.lonDeg = lon;
      }
      const alt = finite(msg.altMSL) ?? finite(msg.alt);
      if (mode === FIX_MODE.threeD && alt !== undefined) fix.altM = alt;
      const geoid = finite(msg.geoidSep);
      if (geoid !== undefined) fix.geoidSepM = geoid;
      const speed = finite(msg.speed);
      if (speed !== undefined) fix.speedKmh = speed * 3.6;
      const track = finite(msg.track);
      if (track !== undefined) fix.courseDeg = track;
      const eph = finite(msg.eph);
      if (eph !== undefined) fix.horizontalErrorM = eph;
      const epv = finite(msg.epv);
      if (epv !== undefined) fix.verticalErrorM = epv;
    }
    const s = this.#sky;
    if (s.uSat !== undefined) fix.satsUsed = s.uSat;
    if (s.nSat !== undefined) fix.satsInView = s.nSat;
    if (s.hdop !== undefined) fix.hdop = s.hdop;
    if (s.vdop !== undefined) fix.vdop = s.vdop;
    if (s.pdop !== undefined) fix.pdop = s.pdop;
    this.#fixes++;
    this.#listeners.emitFix(fix);
  }

  #onClose(info: { disconnected: boolean; error?: Error }): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#link = undefined;
    if (this.#closed) return;
    this.#disconnects++;
    this.#emitEvent({
      type: 'down',
      where: this.#where,
      reason: info.error?.message ?? 'gpsd closed the connection',
    });
    this.#retry();
  }

  /** @internal After a failed first connect: reports it (once listeners can hear it) and keeps trying. */
  retryLater(reason: string): void {
    const nextInMs = this.#retry();
    setImmediate(() => this.#emitEvent({ type: 'retry-failed', where: this.#where, reason, nextInMs }));
  }

  #retry(): number {
    return this.#backoff.schedule(() => {
      this.connect().catch((err: unknown) => {
        if (this.#closed) return;
        const nextInMs = this.#retry();
        this.#emitEvent({
          type: 'retry-failed',
          where: this.#where,
          reason: (err as Error).message,
          nextInMs,
        });
      });
    });
  }
}

/**
 * Physical ranges of gpsd's report fields. A report with a field outside its range is bad input and
 * dropped whole: a negative speed would satisfy a grant condition "speed <= 0" while the car moves,
 * and a receiver or daemon that sends one is not to be believed about the rest of that report.
 */
const GPSD_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  lat: [-90, 90],
  lon: [-180, 180],
  speed: [0, Number.POSITIVE_INFINITY],
  track: [0, 360],
  eph: [0, Number.POSITIVE_INFINITY],
  epv: [0, Number.POSITIVE_INFINITY],
  hdop: [0, Number.POSITIVE_INFINITY],
  vdop: [0, Number.POSITIVE_INFINITY],
  pdop: [0, Number.POSITIVE_INFINITY],
};

/** The first field of `msg` outside its GPSD_RANGES range, described; undefined when all are within. */
function outOfRange(msg: Record<string, unknown>): string | undefined {
  for (const [key, [lo, hi]] of Object.entries(GPSD_RANGES)) {
    const v = finite(msg[key]);
    if (v !== undefined && (v < lo || v > hi))
      return `${String(msg.class)} ${key}: found ${v}; expected ${hi === Number.POSITIVE_INFINITY ? `at least ${lo}` : `${lo} to ${hi}`}`;
  }
  return undefined;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
