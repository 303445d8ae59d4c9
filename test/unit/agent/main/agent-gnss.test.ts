/**
 * The agent with a GNSS source: fixes become Vehicle.CurrentLocation.* samples with the dictionary's
 * paths and units, a lost fix shows as FixType NONE, and a wall clock away from GNSS time is counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { ClockSkewCheck, fixToSamples, fixType, GNSS_PATHS } from '../../../../agent/decode/gnss/index.js';
import { vssDictionary } from '../../../../agent/dictionary/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import type { Sample } from '../../../../chain/index.js';
import {
  type GnssFix,
  MemorySerialPair,
  openNmeaSerial,
  type SerialLink,
} from '../../../../firmware-bridge/index.js';
import type { Logger } from '../../../../process/log.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { epochSentences } from '../../../../simulators/nmea/nmea-writer.js';
import { IDLE_VEHICLE } from '../../../../simulators/vehicle/state.js';
import { waitUntil } from '../../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-gnss-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIX: GnssFix = {
  source: 'nmea',
  mode: 3,
  quality: 'dgps',
  timeMs: Date.UTC(2026, 0, 2, 3, 4, 5),
  latDeg: 47.3769,
  lonDeg: 8.5417,
  altM: 408.2,
  speedKmh: 42,
  courseDeg: 271.5,
  horizontalErrorM: 2.5,
  wallMs: Date.UTC(2026, 0, 2, 3, 4, 5, 300),
  monoMs: 1,
};

describe('GNSS fix to VSS samples', () => {
  it('writes only dictionary paths, with values inside their ranges', () => {
    const out: Sample[] = [];
    fixToSamples(FIX, out, { speedToVehicleSpeed: true });
    const dict = vssDictionary();
    for (const s of out) {
      const e = dict.get(s.path);
      expect(e, s.path).toBeDefined();
      if (typeof s.value === 'number') {
        if (e!.min !== undefined) expect(s.value).toBeGreaterThanOrEqual(e!.min);
        if (e!.max !== undefined) expect(s.value).toBeLessThanOrEqual(e!.max);
      }
      if (e!.allowed) expect(e!.allowed).toContain(s.value);
    }
    const by = Object.fromEntries(out.map((s) => [s.path, s.value]));
    expect(by).toEqual({
      [GNSS_PATHS.fixType]: 'THREE_D_GROUND_BASED_AUGMENTATION',
      [GNSS_PATHS.latitude]: 47.3769,
      [GNSS_PATHS.longitude]: 8.5417,
      [GNSS_PATHS.altitude]: 408.2,
      [GNSS_PATHS.heading]: 271.5,
      [GNSS_PATHS.horizontalAccuracy]: 2.5,
      [GNSS_PATHS.timestamp]: '2026-01-02T03:04:05.000Z',
      [GNSS_PATHS.speed]: 42,
    });
    expect(out.every((s) => s.tUs === FIX.wallMs * 1000)).toBe(true);
  });

  it('without a fix only FixType NONE is written', () => {
    const out: Sample[] = [];
    fixToSamples({ source: 'nmea', mode: 1, latDeg: 1, lonDeg: 2, wallMs: 0, monoMs: 0 }, out);
    expect(out).toEqual([{ path: GNSS_PATHS.fixType, tUs: 0, value: 'NONE' }]);
    expect(fixType({ ...FIX, mode: 2, quality: 'sbas' })).toBe('TWO_D_SATELLITE_BASED_AUGMENTATION');
    expect(fixType({ ...FIX, quality: 'gps' })).toBe('THREE_D');
  });

  it('checks the wall clock against GNSS time, once per fix with a date', () => {
    const c = new ClockSkewCheck(2000);
    const { timeMs: _, ...undated } = FIX;
    expect(c.check(undated).kind).toBe('unchecked');
    expect(c.check(FIX)).toEqual({ kind: 'ok', skewMs: 300 });
    expect(c.check({ ...FIX, wallMs: FIX.timeMs! + 5000 })).toEqual({
      kind: 'skewed',
      skewMs: 5000,
      started: true,
    });
    expect(c.check({ ...FIX, wallMs: FIX.timeMs! - 7000 })).toEqual({
      kind: 'skewed',
      skewMs: -7000,
      started: false,
    });
    expect(c.check(FIX)).toEqual({ kind: 'recovered', skewMs: 300 });
  });
});

describe('agent with a GNSS source', () => {
  it('turns NMEA from its receiver into samples and counts a clock 30 s behind GNSS time', async () => {
    const pair = new MemorySerialPair('agent', 'receiver');
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_f, m) => warnings.push(m), child: () => logger };
    const seen: Sample[] = [];
    const config = agentConfigSchema.parse({
      device: { vehicleId: 'car-1', dataDir: dir, socketPath: join(dir, 'g.sock') },
      sources: { gnss: { source: 'nmea', port: '/dev/ttyACM0', baud: 9600, maxClockSkewMs: 2000 } },
    });
    const agent = await startAgent({
      config,
      logger,
      notifier: noopNotifier,
      openGnss: (cfg) =>
        openNmeaSerial({
          path: cfg.port!,
          baudRate: cfg.baud,
          openSerial: async (): Promise<SerialLink> => pair.a,
        }),
      onSamples: (s) => seen.push(...s),
    });
    try {
      // The receiver's time is 30 s ahead of this host's clock.
      const t0 = Math.floor(Date.now() / 1000) * 1000 + 30_000;
      for (let i = 0; i < 3; i++) await pair.b.write(epochSentences(IDLE_VEHICLE, t0 + i * 1000).join(''));
      // The bound only ends a hung test: the in-memory link delivers at once, but a loaded two-core
      // machine can stall a test process for a second or more.
      await waitUntil(() => agent.metrics.counter('gnss.fixes') >= 2, 10_000, 'fixes');
      const lat = seen.find((s) => s.path === GNSS_PATHS.latitude);
      expect(lat?.value).toBeCloseTo(IDLE_VEHICLE.latDeg, 7);
      expect(seen.find((s) => s.path === GNSS_PATHS.fixType)?.value).toBe('THREE_D');
      // No CAN or OBD source: GNSS speed is the vehicle's speed.
      expect(seen.some((s) => s.path === 'Vehicle.Speed')).toBe(true);
      expect(agent.metrics.counter('gnss.clock-skew')).toBeGreaterThanOrEqual(2);
      expect(agent.metrics.gauge('gnss.clock-skew-ms')).toBeLessThan(-25_000);
      expect(warnings.filter((w) => w === 'wall clock differs from GNSS time')).toHaveLength(1);
      expect(agent.latest.snapshot()[GNSS_PATHS.altitude]).toMatchObject({ value: 408 });
    } finally {
      await agent.stop();
    }
    expect(pair.a.isOpen).toBe(false);
  });
});
