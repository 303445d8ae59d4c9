import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  Elm327,
  Elm327Connection,
  ObdClient,
  ObdError,
  type ObdLinkEvent,
  openSerialPort,
  PollScheduler,
  type SerialLink,
  startPollLoop,
} from '../../../firmware-bridge/index.js';
import { TableEcu, VehicleEcu } from '../../../simulators/elm327/ecus.js';
import { Elm327Device } from '../../../simulators/elm327/elm327-device.js';
import { Elm327Emulator, type EmulatedCar } from '../../../simulators/elm327/elm327-emulator.js';
import { openPtyPair, type PtyPair } from '../../../simulators/pty-pair.js';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { waitUntil } from '../../support/cli.js';
import { describeSystem } from '../../support/system.js';

const BAUD = 38400;

describeSystem(
  'ELM327 driver against the emulator over a real pseudo-terminal',
  [{ bin: 'socat', pkg: 'socat' }],
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'qood-elm-'));
    const emuPath = join(dir, 'elm');
    const hostPath = join(dir, 'host');
    const model = new VehicleModel({ vin: 'WQD0SIM1234567890' });
    model.addDtc('P0301');
    model.addDtc('P0171', true);
    for (let i = 0; i < 40; i++) model.step(1000);
    const car: EmulatedCar = {
      bus: 'can11',
      canKbps: 500,
      batteryV: 12.4,
      ecus: [
        new VehicleEcu({ source: model, clearDtcs: () => model.clearDtcs() }),
        new TableEcu(0x7e9, { '0100': [[0x41, 0x00, 0x00, 0x08, 0x00, 0x00]], '010D': [[0x41, 0x0d, 0x2a]] }),
      ],
    };
    let pty: PtyPair;
    let device: Elm327Device;
    const open: { host?: SerialLink } = {};
    let elm: Elm327;

    const startEmulator = async () => {
      pty = await openPtyPair(emuPath, hostPath);
      const link = await openSerialPort({ path: emuPath, baudRate: BAUD });
      device = new Elm327Device({ link, emulator: new Elm327Emulator({ car }), baudRate: BAUD });
    };

    beforeAll(async () => {
      await startEmulator();
      open.host = await openSerialPort({ path: hostPath, baudRate: BAUD });
      elm = new Elm327({ link: open.host, timeouts: { obdMs: 1000 } });
    });
    afterEach(() => {
      for (const k of Object.keys(device.faults)) delete device.faults[k as keyof typeof device.faults];
    });
    afterAll(async () => {
      await open.host?.close();
      await device.link.close();
      await pty.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('initialises like a v1.5 chip: echo off, headers on, protocol found by search', async () => {
      const info = await elm.initialise();
      expect(info).toMatchObject({
        version: 'ELM327 v1.5',
        device: 'OBDII to RS232 Interpreter',
        protocol: 'ISO 15765-4 (CAN 11/500)',
        protocolNumber: 'A6',
        vehicle: 'ok',
        unsupported: [],
      });
      expect(elm.format).toEqual({ family: 'can11', headers: true });
      expect(await elm.batteryVoltage()).toBe(12.4);
    });

    it('discovers PIDs per ECU, reads the VIN, stored and pending DTCs', async () => {
      const client = new ObdClient({ transport: elm });
      const sup = await client.supportedPids();
      expect(sup.byEcu.get('7E8')).toEqual(expect.arrayContaining([0x0c, 0x0d, 0x05, 0xa6]));
      expect(sup.byEcu.get('7E9')).toEqual([0x0d]);
      expect(await client.readVin()).toBe('WQD0SIM1234567890');
      expect((await client.readDtcs('stored')).map((d) => d.code)).toEqual(['P0301']);
      expect((await client.readDtcs('pending')).map((d) => d.code)).toEqual(['P0171']);
      expect(await client.readDtcs('permanent')).toEqual([]);
      const speed = await client.readPid(0x0d);
      expect(speed.map((r) => [r.ecu, r.data[2]])).toEqual([
        ['7E8', Math.round(model.current().speedKmh)],
        ['7E9', 0x2a],
      ]);
    });

    it('polls at per-PID rates scaled to the measured round trip', async () => {
      const scheduler = new PollScheduler({
        targets: [
          { pid: 0x0c, rateHz: 20 },
          { pid: 0x0d, rateHz: 10 },
          { pid: 0x05, rateHz: 1 },
        ],
      });
      const seen = new Map<number, number>();
      const loop = startPollLoop({
        transport: elm,
        scheduler,
        onResponse: (pid) => seen.set(pid, (seen.get(pid) ?? 0) + 1),
      });
      await new Promise((r) => setTimeout(r, 1500));
      await loop.stop();
      expect(scheduler.rttMs).toBeGreaterThan(0);
      expect(seen.get(0x0c)).toBeGreaterThan(seen.get(0x0d)!);
      expect(seen.get(0x0d)).toBeGreaterThan(seen.get(0x05)!);
      expect(seen.get(0x05)).toBeGreaterThanOrEqual(1);
    });

    it('types every error reply a real adapter gives, and goes on working after each', async () => {
      const replies: [string, string][] = [
        ['NO DATA', 'NO_DATA'],
        ['?', 'UNKNOWN_COMMAND'],
        ['CAN ERROR', 'CAN_ERROR'],
        ['BUS INIT: ...ERROR', 'BUS_INIT_ERROR'],
        ['SEARCHING...\rUNABLE TO CONNECT', 'UNABLE_TO_CONNECT'],
        ['STOPPED', 'STOPPED'],
        ['7E8 03 41 0D 53\rBUFFER FULL', 'OK'],
        ['BUFFER FULL', 'BUFFER_FULL'],
        ['7E8 03 41 0D 53 <DATA ERROR', 'DATA_ERROR'],
        ['<RX ERROR', 'DATA_ERROR'],
        ['BUS BUSY', 'ADAPTER_ERROR'],
        ['LV RESET', 'ADAPTER_ERROR'],
        ['7E8 03 7F 01 12', 'NEGATIVE_RESPONSE'],
      ];
      for (const [reply, code] of replies) {
        device.faults.scripted = [reply];
        const got = await elm.request(Uint8Array.of(0x01, 0x0d)).then(
          () => 'OK',
          (e: ObdError) => e.code,
        );
        expect({ reply, got }).toEqual({ reply, got: code });
        const after = await elm.request(Uint8Array.of(0x01, 0x0d));
        expect(after[0]!.data[0]).toBe(0x41);
      }
      expect(elm.stats.errors.BUFFER_FULL).toBe(2);
    });

    it('stops a slow request when the host sends a byte (STOPPED, from the chip itself)', async () => {
      device.faults.slowMs = 400;
      const pending = elm.request(Uint8Array.of(0x01, 0x0c)).catch((e: ObdError) => e.code);
      await new Promise((r) => setTimeout(r, 100));
      await open.host!.write('X');
      expect(await pending).toBe('STOPPED');
      device.faults.slowMs = 0;
      expect((await elm.request(Uint8Array.of(0x01, 0x0c)))[0]!.data[1]).toBe(0x0c);
    });

    it('counts garbage and cut lines, flags them, and keeps running', async () => {
      const before = { ...elm.stats };
      device.faults.garbage = '\u0000\u00ffZQ#\r';
      const withNoise = await elm.request(Uint8Array.of(0x01, 0x0d));
      expect(withNoise.length).toBe(2);
      expect(elm.stats.badLines).toBe(before.badLines + 1);
      expect(elm.lastBadLines[0]).toMatchObject({ line: 1, expected: expect.stringContaining('hex') });
      delete device.faults.garbage;
      device.faults.truncateAt = 9; // `7E8034101` of `7E803410D53`: a cut line
      const cut = await elm.request(Uint8Array.of(0x01, 0x0d)).catch((e: ObdError) => e);
      expect(cut).toBeInstanceOf(ObdError);
      expect((cut as ObdError).code).toBe('BAD_REPLY');
      expect((cut as ObdError).message).toMatch(/line 1 offset \d+/);
      delete device.faults.truncateAt;
      expect((await elm.request(Uint8Array.of(0x01, 0x0d))).length).toBe(2);
    });

    it('times out a reply that never comes, drains the late one, and answers the next request right', async () => {
      device.faults.slowMs = 1300;
      const err = await elm
        .request(Uint8Array.of(0x01, 0x0c), { timeoutMs: 300 })
        .catch((e: ObdError) => e.code);
      expect(err).toBe('TIMEOUT');
      device.faults.slowMs = 0;
      const strayBefore = elm.stats.strayBytes;
      const next = await elm.request(Uint8Array.of(0x01, 0x05));
      expect(next[0]!.data[1]).toBe(0x05);
      expect(elm.stats.strayBytes).toBeGreaterThan(strayBefore);
    });

    it('clears DTCs only through the explicit call', async () => {
      expect(model.current().dtcs).toEqual(['P0301']);
      const acked = await new ObdClient({ transport: elm }).clearDtcs();
      expect(acked).toContain('7E8');
      expect(model.current().dtcs).toEqual([]);
    });

    it('reports an unplugged adapter mid-poll and reconnects when the port comes back', async () => {
      await open.host!.close();
      const events: ObdLinkEvent[] = [];
      const conn = new Elm327Connection({
        open: openSerialPort,
        path: hostPath,
        baudRate: BAUD,
        retryInitialMs: 100,
        retryMaxMs: 400,
        timeouts: { obdMs: 1000 },
        onEvent: (e) => events.push(e),
      });
      await conn.start();
      const errors: string[] = [];
      let values = 0;
      const loop = startPollLoop({
        transport: conn,
        scheduler: new PollScheduler({ targets: [{ pid: 0x0c, rateHz: 10 }] }),
        onResponse: () => values++,
        onError: (_pid, e) => errors.push(e.code),
        idleMs: 50,
      });
      try {
        await waitUntil(() => values >= 3, 5000, 'first values');
        // Unplug: socat goes, both ptys vanish.
        await pty.close();
        await waitUntil(() => events.some((e) => e.type === 'disconnected'), 5000, 'disconnect event');
        expect(conn.connected).toBe(false);
        await new Promise((r) => setTimeout(r, 400));
        expect(events.filter((e) => e.type === 'retry').length).toBeGreaterThan(0);
        // Plug back in.
        await startEmulator();
        await waitUntil(() => conn.connects === 2, 10_000, 'reconnect');
        const at = values;
        await waitUntil(() => values >= at + 3, 5000, 'values after reconnect');
        expect(errors).toContain('DISCONNECTED');
        expect(events.filter((e) => e.type === 'connected').length).toBe(2);
      } finally {
        await loop.stop();
        await conn.close();
      }
    });
  },
);
