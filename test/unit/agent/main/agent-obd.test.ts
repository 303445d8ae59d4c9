import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import type { Sample } from '../../../../chain/index.js';
import { CanWire, MemorySerialPair, SerialError } from '../../../../firmware-bridge/index.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { VehicleEcu } from '../../../../simulators/elm327/ecus.js';
import { Elm327Device } from '../../../../simulators/elm327/elm327-device.js';
import { Elm327Emulator } from '../../../../simulators/elm327/elm327-emulator.js';
import { IsoTpEcus } from '../../../../simulators/elm327/isotp-ecus.js';
import { VehicleModel } from '../../../../simulators/vehicle/model.js';
import { waitUntil } from '../../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-obd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const device = () => ({ vehicleId: 'car-obd', dataDir: dir, socketPath: join(dir, `a${n++}.sock`) });

function drivingModel(): VehicleModel {
  const model = new VehicleModel({ vin: 'WQD0SIM1234567890' });
  for (let i = 0; i < 60; i++) model.step(1000);
  return model;
}

describe('agent with an OBD source', () => {
  it('polls an ELM327 at the configured rates into VSS samples, with the VIN once', async () => {
    const model = drivingModel();
    const pair = new MemorySerialPair('/dev/ttyUSB0', 'elm');
    new Elm327Device({
      link: pair.b,
      emulator: new Elm327Emulator({
        car: { bus: 'can11', canKbps: 500, ecus: [new VehicleEcu({ source: model })] },
      }),
    });
    const seen: Sample[] = [];
    const config = agentConfigSchema.parse({
      device: device(),
      sources: { obd: { transport: 'elm327', port: '/dev/ttyUSB0', pids: { '010C': 20, '010D': 10 } } },
    });
    const agent = await startAgent({
      config,
      logger: silentLogger,
      notifier: noopNotifier,
      openSerial: async () => pair.a,
      onSamples: (s) => seen.push(...s),
    });
    try {
      // The bounds on these waits only end a hung test: 10 Hz polling gives three speeds in a
      // fraction of a second, but a loaded two-core machine can stall a test process for seconds.
      await waitUntil(
        () => seen.filter((s) => s.path === 'Vehicle.Speed').length >= 3,
        15_000,
        'speed samples',
      );
      expect(seen.find((s) => s.path === 'Vehicle.VehicleIdentification.VIN')?.value).toBe(
        'WQD0SIM1234567890',
      );
      const rpm = seen.find((s) => s.path === 'Vehicle.Powertrain.CombustionEngine.Speed')!;
      expect(rpm.value).toBeCloseTo(model.current().engineRpm, -1);
      expect(
        seen.filter((s) => s.path === 'Vehicle.Powertrain.CombustionEngine.Speed').length,
      ).toBeGreaterThan(seen.filter((s) => s.path === 'Vehicle.Speed').length);
      const m = agent.metrics.snapshot() as { counters: Record<string, number> };
      expect(m.counters['obd.responses']).toBeGreaterThan(0);
      expect(agent.latest.snapshot()).toHaveProperty(['Vehicle.Speed']);
    } finally {
      await agent.stop();
    }
  });

  it('discovers PIDs over ISO-TP on the CAN bus opener and decodes every supported one', async () => {
    const model = drivingModel();
    const wire = new CanWire();
    const ecus = new IsoTpEcus({
      wire,
      addressing: '29bit',
      ecus: [new VehicleEcu({ source: model, address: 0x18daf110 })],
    });
    const seen: Sample[] = [];
    const config = agentConfigSchema.parse({
      device: device(),
      sources: { obd: { transport: 'isotp', interface: 'can0', addressing: '29bit' } },
    });
    const agent = await startAgent({
      config,
      logger: silentLogger,
      notifier: noopNotifier,
      openCanBus: async (src) => wire.attach(src.interface),
      onSamples: (s) => seen.push(...s),
    });
    try {
      await waitUntil(
        () => seen.some((s) => s.path === 'Vehicle.TraveledDistance'),
        20_000,
        'odometer sample',
      );
      const paths = new Set(seen.map((s) => s.path));
      for (const p of [
        'Vehicle.Speed',
        'Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature',
        'Vehicle.Exterior.AirTemperature',
        'Vehicle.VehicleIdentification.VIN',
      ])
        expect(paths).toContain(p);
    } finally {
      await agent.stop();
      ecus.close();
    }
  });

  it('starts with the adapter unplugged, keeps retrying, and stops cleanly', async () => {
    let attempts = 0;
    const config = agentConfigSchema.parse({
      device: device(),
      sources: { obd: { transport: 'elm327', port: '/dev/rfcomm0' } },
    });
    const agent = await startAgent({
      config,
      logger: silentLogger,
      notifier: noopNotifier,
      openSerial: async () => {
        attempts++;
        throw new SerialError('OPEN_FAILED', '/dev/rfcomm0', 'cannot open: No such file or directory');
      },
    });
    await waitUntil(() => attempts >= 2, 10_000, 'a reopen attempt');
    await agent.stop();
  });
});
