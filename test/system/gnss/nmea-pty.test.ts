/**
 * The serial NMEA path over real pseudo-terminals (socat): the emulator drives the simulated car onto
 * one end, the source reads the other through `serialport`, as it would read a USB receiver. Then the
 * pty pair disappears (socat killed, as a receiver unplugged) and comes back under the same path:
 * the source reports the loss, reopens, and fixes flow again. Last, the commands as a user runs
 * them: `qood gnss emulate --link` and `qood gnss watch --port` on it, and `qood agent` with a
 * `gnss` source on the emulator's pty, seen through `qood status`, across an unplug.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  type GnssFix,
  type GnssSourceEvent,
  openNmeaSerial,
  openSerialPort,
  type SerialLink,
} from '../../../firmware-bridge/index.js';
import { type EmulatorResult, runNmeaEmulator } from '../../../simulators/nmea/emulator.js';
import { openPtyPair, type PtyPair } from '../../../simulators/pty-pair.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { collectOutput, runQood, startQood, waitExit, waitUntil } from '../../support/cli.js';
import { describeSystem } from '../../support/system.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-gnss-pty-'));
const DEVICE = join(dir, 'receiver');
const USER = join(dir, 'ttyGNSS');
const pairs: PtyPair[] = [];
afterAll(async () => {
  for (const p of pairs) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the emulator on the device end of a fresh pty pair. */
async function emulate(model: VehicleModel, startUtcMs: number, abort: AbortSignal) {
  const pair = await openPtyPair(DEVICE, USER);
  pairs.push(pair);
  const link: SerialLink = await openSerialPort({ path: pair.devicePath, baudRate: 115200 });
  const run: Promise<EmulatorResult> = runNmeaEmulator({
    link,
    signal: abort,
    feed: { kind: 'route', model, rateHz: 10, startUtcMs, speed: 5 },
  });
  return { pair, link, run };
}

describeSystem('GNSS over a real pseudo-terminal', [{ bin: 'socat', pkg: 'socat' }], () => {
  it('reads fixes from the emulator, loses the receiver, reopens it and reads again', async () => {
    const model = new VehicleModel({ seed: 3 });
    const start = Date.UTC(2026, 5, 1, 8, 0, 0);
    const abort1 = new AbortController();
    const first = await emulate(model, start, abort1.signal);
    const source = await openNmeaSerial({
      path: USER,
      baudRate: 115200,
      openSerial: openSerialPort,
      retryMinMs: 100,
      retryMaxMs: 400,
    });
    const fixes: GnssFix[] = [];
    const events: GnssSourceEvent[] = [];
    source.onFix((f) => fixes.push(f));
    source.onEvent((e) => events.push(e));
    try {
      await waitUntil(() => fixes.length >= 20, 10_000, '20 fixes over the pty');
      expect(fixes.every((f) => f.mode === 3 && f.source === 'nmea')).toBe(true);
      // Epochs are 100 ms apart in GNSS time, in order, none lost or merged.
      for (let i = 1; i < fixes.length; i++) expect(fixes[i]!.timeMs! - fixes[i - 1]!.timeMs!).toBe(100);
      expect(source.stats().badInput).toBe(0);

      // Unplug: socat goes, both ends vanish.
      abort1.abort();
      await first.run;
      await first.link.close();
      await first.pair.close();
      await waitUntil(() => events.some((e) => e.type === 'down'), 5000, 'the source to see the receiver go');
      const before = fixes.length;
      await new Promise((r) => setTimeout(r, 300)); // a reopen attempt or two fails meanwhile

      // Plug back in under the same path, later in the drive.
      const abort2 = new AbortController();
      const second = await emulate(model, start + 600_000, abort2.signal);
      try {
        await waitUntil(() => fixes.length >= before + 10, 10_000, 'fixes after the reopen');
      } finally {
        abort2.abort();
        await second.run;
        await second.link.close();
      }
      const after = fixes.slice(before);
      expect(after.every((f) => f.timeMs! >= start + 600_000)).toBe(true);
      const st = source.stats();
      expect(st.disconnects).toBe(1);
      expect(st.reopens).toBe(1);
      expect(events.some((e) => e.type === 'retry-failed')).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('qood gnss emulate --link and qood gnss watch --port, as a user runs them', async () => {
    const link = join(dir, 'ttyCLI');
    const emu = startQood(['gnss', 'emulate', '--link', link, '--rate', '5', '--speed', '4']);
    const emuOut = collectOutput(emu);
    try {
      await waitUntil(() => emuOut.stderr().includes('GNSS receiver on'), 10_000, 'the emulator to start');
      const r = runQood(['gnss', 'watch', '--port', link, '--baud', '115200', '--count', '5', '--json'], {
        timeoutMs: 15_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(5);
      for (const l of lines) {
        const o = JSON.parse(l) as { lat: number; lon: number; mode: number; sats: number };
        expect(o.mode).toBe(3);
        expect(o.sats).toBe(8);
        // The Zurich loop.
        expect(Math.abs(o.lat - 47.37)).toBeLessThan(0.05);
        expect(Math.abs(o.lon - 8.52)).toBeLessThan(0.05);
      }
      expect(r.stderr).toMatch(/nmea:.*ttyCLI: 5 fixes, 0 bad input/);
    } finally {
      emu.kill('SIGTERM');
      const ex = await waitExit(emu, 10_000);
      expect(ex.code).toBe(0);
    }
    expect(emuOut.stderr()).toMatch(/\d+ epochs, \d+ sentences written \(aborted\)/);
  });

  it('qood agent reads the receiver on a pty, counts it in qood status, and outlives an unplug', async () => {
    const link = join(dir, 'ttyAGENT');
    const sock = join(dir, 'agent.sock');
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      [
        'device:',
        '  vehicleId: gnss-test',
        `  dataDir: ${dir}`,
        `  socketPath: ${sock}`,
        'sources:',
        '  gnss:',
        '    source: nmea',
        `    port: ${link}`,
        '    baud: 115200',
        '    maxClockSkewMs: 2000',
        '',
      ].join('\n'),
    );
    const counters = (): Record<string, number> => {
      const r = runQood(['status', '--socket', sock, '--json'], { timeoutMs: 5000 });
      return r.status === 0 ? (JSON.parse(r.stdout) as { counters: Record<string, number> }).counters : {};
    };
    let emu = startQood(['gnss', 'emulate', '--link', link, '--rate', '2', '--speed', '1']);
    let emuOut = collectOutput(emu);
    await waitUntil(() => emuOut.stderr().includes('GNSS receiver on'), 10_000, 'the emulator');
    const agent = startQood(['agent', '--config', cfg, '--log-level', 'debug']);
    const agentOut = collectOutput(agent);
    try {
      await waitUntil(() => (counters()['gnss.fixes'] ?? 0) >= 4, 30_000, 'the agent to count 4 fixes', 200);
      const c = counters();
      expect(c['gnss.bad-input']).toBe(0);
      expect(c['gnss.no-fix']).toBe(0);
      // At --speed 1 the emulator's clock is this host's: no skew. (Faster, its UTC runs ahead of
      // the wall clock by the time it has run, and a slow start of the agent shows it as skew.)
      expect(c['gnss.clock-skew']).toBe(0);
      expect(c['samples.out']).toBeGreaterThan(4 * 5);

      // Unplug: the emulator and its pty go away; the agent keeps running and reopens when it is back.
      emu.kill('SIGTERM');
      await waitExit(emu, 10_000);
      await waitUntil(
        () => (counters()['gnss.disconnects'] ?? 0) === 1,
        30_000,
        'the agent to see the unplug',
        200,
      );
      const before = counters()['gnss.fixes'] ?? 0;
      emu = startQood(['gnss', 'emulate', '--link', link, '--rate', '2', '--speed', '1']);
      emuOut = collectOutput(emu);
      await waitUntil(
        () => (counters()['gnss.fixes'] ?? 0) >= before + 3,
        40_000,
        'fixes after replugging',
        200,
      );
      expect(agent.exitCode).toBeNull();
      expect(agentOut.stdout()).toContain('GNSS receiver went away; reopening');
    } finally {
      agent.kill('SIGTERM');
      emu.kill('SIGTERM');
      await waitExit(agent, 10_000);
      await waitExit(emu, 10_000);
    }
  }, 150_000);
});
