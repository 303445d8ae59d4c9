/**
 * OBD polling throughput through a real pseudo-terminal (socat) between the ELM327 driver and the
 * emulator, at 38,400 and 115,200 baud, against the line's own ceiling for the same requests:
 * (bytes of request + reply, counted by the emulator in the same run) * 10 bits / baud. A pty moves
 * bytes as fast as the kernel copies them, so the emulator paces its side at the configured baud
 * (a byte budget of 10 bit times, slept in ~1 ms steps); without that the figure would be a memcpy
 * rate, not a serial line's. The emulated car answers at once (no CAN bus or ECU time), so the
 * ratio shows what the driver, the event loop and the pty cost on top of the wire.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elm327, openSerialPort, type SerialLink } from '../../firmware-bridge/index.js';
import { VehicleEcu } from '../../simulators/elm327/ecus.js';
import { Elm327Device } from '../../simulators/elm327/elm327-device.js';
import { Elm327Emulator } from '../../simulators/elm327/elm327-emulator.js';
import { openPtyPair, type PtyPair } from '../../simulators/pty-pair.js';
import { VehicleModel } from '../../simulators/vehicle/model.js';
import { findProgram } from '../support/system.js';
import type { BenchFigure, BenchSuite } from './harness.js';

interface Rig {
  pty: PtyPair;
  host: SerialLink;
  device: Elm327Device;
  elm: Elm327;
  dir: string;
}

const rigs: Rig[] = [];

async function rig(baud: number | undefined): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-obd-bench-'));
  const pty = await openPtyPair(join(dir, 'elm'), join(dir, 'host'));
  const model = new VehicleModel();
  const emuLink = await openSerialPort({ path: pty.devicePath, baudRate: baud ?? 115200 });
  const device = new Elm327Device({
    link: emuLink,
    emulator: new Elm327Emulator({
      car: { bus: 'can11', canKbps: 500, ecus: [new VehicleEcu({ source: model })] },
    }),
    ...(baud === undefined ? {} : { baudRate: baud }),
  });
  const host = await openSerialPort({ path: pty.userPath, baudRate: baud ?? 115200 });
  const elm = new Elm327({ link: host });
  await elm.initialise();
  const r = { pty, host, device, elm, dir };
  rigs.push(r);
  return r;
}

/** Polls `n` requests one after another; returns requests/s and the bytes each took on the wire. */
async function poll(
  r: Rig,
  n: number,
  expectedReplies?: number,
): Promise<{ rate: number; bytesPerRequest: number }> {
  const pids = [0x0c, 0x0d, 0x05, 0x04];
  const in0 = r.device.stats.bytesIn;
  const out0 = r.device.stats.bytesOut;
  const t0 = performance.now();
  for (let i = 0; i < n; i++)
    await r.elm.request(
      Uint8Array.of(0x01, pids[i % pids.length]!),
      expectedReplies === undefined ? {} : { expectedReplies },
    );
  const s = (performance.now() - t0) / 1000;
  const bytes = r.device.stats.bytesIn - in0 + (r.device.stats.bytesOut - out0);
  return { rate: n / s, bytesPerRequest: bytes / n };
}

function figures(baud: number, r: Rig, n: number, label: string, expectedReplies?: number): BenchFigure {
  let last = { rate: 0, bytesPerRequest: 0 };
  return {
    name: `PIDs polled at ${baud} baud${label}`,
    unit: 'PIDs/s',
    runs: 3,
    measure: async () => {
      last = await poll(r, n, expectedReplies);
      return last.rate;
    },
    floor: {
      name: 'line ceiling',
      // Measured before the figure in each run; the first run primes `last` with a short poll.
      measure: async () => {
        if (last.bytesPerRequest === 0) last = await poll(r, 20, expectedReplies);
        return baud / 10 / last.bytesPerRequest;
      },
    },
    note:
      expectedReplies === undefined
        ? 'ceiling from the bytes/request the emulator counted'
        : 'one byte more; saves the adapter idle wait, which the emulator does not model',
  };
}

export const suite: BenchSuite = {
  name: 'obd',
  skip: () => (findProgram('socat') === undefined ? 'needs socat (apt-get install socat)' : undefined),
  figures: async () => {
    const r38 = await rig(38400);
    const r115 = await rig(115200);
    const rFree = await rig(undefined);
    return [
      figures(38400, r38, 150, ''),
      figures(38400, r38, 150, ', response count digit (010C1)', 1),
      figures(115200, r115, 400, ''),
      {
        name: 'PIDs polled, pty not paced (driver + pty cost only)',
        unit: 'PIDs/s',
        runs: 3,
        measure: async () => (await poll(rFree, 1000)).rate,
      },
    ];
  },
  teardown: async () => {
    for (const r of rigs.splice(0)) {
      await r.elm.close();
      await r.host.close().catch(() => {});
      await r.device.link.close().catch(() => {});
      await r.pty.close();
      rmSync(r.dir, { recursive: true, force: true });
    }
  },
};
