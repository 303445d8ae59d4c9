import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../agent/config/index.js';
import { loadDbcFile } from '../../../../agent/decode/can/index.js';
import { startAgent } from '../../../../agent/main/start-agent.js';
import type { Sample } from '../../../../chain/index.js';
import { CanWire, type MemoryCanBus } from '../../../../firmware-bridge/index.js';
import { callLocalApi } from '../../../../process/local-api/client.js';
import { silentLogger } from '../../../../process/log.js';
import { noopNotifier } from '../../../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../../../simulators/vehicle/can-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-agent-can-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dbc = loadDbcFile(SIM_DBC_PATH);

describe('agent with a CAN source', () => {
  it('decodes frames from its bus into VSS samples, filters unmapped ids in the kernel, and serves the latest values', async () => {
    const wire = new CanWire();
    const ecu = wire.attach('ecu');
    let agentBus: MemoryCanBus | undefined;
    const seen: Sample[] = [];
    const config = agentConfigSchema.parse({
      device: { vehicleId: 'car-1', dataDir: dir, socketPath: join(dir, 'a.sock') },
      sources: { can: [{ interface: 'can0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
    });
    const agent = await startAgent({
      config,
      logger: silentLogger,
      notifier: noopNotifier,
      openCanBus: async (src) => {
        agentBus = wire.attach(src.interface);
        return agentBus;
      },
      onSamples: (s) => seen.push(...s),
    });
    try {
      await ecu.send({
        id: 0x1b0,
        data: dbc.byName('VEHICLE_DYNAMICS')!.encode({ VehicleSpeed: 87.5, Gear: 5 }),
      });
      // BODY_COMMAND (0x2F0) is in the DBC but not in the map: the kernel filter keeps it out.
      await ecu.send({ id: 0x2f0, data: Uint8Array.of(1, 0) });
      await ecu.send({ id: 0x123, data: Uint8Array.of(1) });
      expect(agentBus!.stats().framesIn).toBe(1);
      expect(seen.find((s) => s.path === 'Vehicle.Speed')?.value).toBe(87.5);
      expect(agent.metrics.counter('frames.in')).toBe(1);
      const latest = (await callLocalApi(join(dir, 'a.sock'), 'latest')) as Record<
        string,
        { value: unknown }
      >;
      expect(latest['Vehicle.Powertrain.Transmission.CurrentGear']?.value).toBe(5);
    } finally {
      await agent.stop();
    }
    expect(existsSync(join(dir, 'a.sock'))).toBe(false);
  });

  it('refuses to start with a broken DBC, naming file:line, and leaves nothing open', async () => {
    const bad = join(dir, 'bad.dbc');
    writeFileSync(bad, 'BO_ 1 M: 8 N\n SG_ S : 0|8@1+ (1,0) [0|1] N\n');
    const wire = new CanWire();
    const opened: MemoryCanBus[] = [];
    const config = agentConfigSchema.parse({
      device: { vehicleId: 'car-2', dataDir: dir, socketPath: join(dir, 'b.sock') },
      sources: {
        can: [
          { interface: 'can0', dbc: SIM_DBC_PATH },
          { interface: 'can1', dbc: bad },
        ],
      },
    });
    await expect(
      startAgent({
        config,
        logger: silentLogger,
        notifier: noopNotifier,
        openCanBus: async (src) => {
          const b = wire.attach(src.interface);
          opened.push(b);
          return b;
        },
      }),
    ).rejects.toThrow(`${bad}:2: expected the quoted unit of S`);
    // can0 had been opened; it was closed again (a closed memory bus refuses to send).
    expect(opened).toHaveLength(1);
    await expect(opened[0]!.send({ id: 1, data: new Uint8Array(8) })).rejects.toThrow('bus is closed');
    expect(existsSync(join(dir, 'b.sock'))).toBe(false);
  });
});
