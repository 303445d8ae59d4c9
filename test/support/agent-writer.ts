/**
 * A child process for the agent crash test (test/system/store/kill-agent.test.ts): runs the real
 * agent (`startAgent`) on a paired data folder, with the simulated car on an in-memory CAN bus
 * driven 50x faster than real time so chunks close every few milliseconds, and prints
 * `<stream> <seq> <id>` for each chunk after the store committed it (writeSync: a printed chunk
 * is never one not yet committed). Runs until it is killed. argv: DATA_DIR
 */
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config/index.js';
import { startAgent } from '../../agent/main/start-agent.js';
import { silentLogger } from '../../process/log.js';
import { noopNotifier } from '../../process/service.js';
import { SIM_DBC_PATH, SIM_MAP_PATH } from '../../simulators/vehicle/can-frames.js';
import { SimCar } from './sim-car.js';

const dir = process.argv[2];
if (dir !== undefined && process.argv[1]?.endsWith('agent-writer.js')) {
  // Frames carry the simulated time, which runs 50x faster than the wall clock.
  const car = new SimCar({ startMs: Date.now(), seed: 7 });
  const config = agentConfigSchema.parse({
    device: { vehicleId: 'crash-car', dataDir: dir, socketPath: join(dir, `agent-${process.pid}.sock`) },
    sources: { can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
    storage: {},
    collect: {
      schemes: [
        { name: 'fast', kind: 'periodic', periodMs: 100, signals: ['Vehicle.Speed', 'Vehicle.Powertrain.*'] },
        { name: 'all', kind: 'on-change', signals: ['*'] },
      ],
      chunk: { maxSamples: 200 },
    },
  });
  await startAgent({
    config,
    logger: silentLogger,
    notifier: noopNotifier,
    openCanBus: car.openCanBus,
    nowMs: car.nowMs,
    onChunkStored: (c) => writeSync(1, `${c.stream} ${c.seq} ${c.id}\n`),
  });
  writeSync(1, 'ready\n');
  setInterval(() => {
    for (let i = 0; i < 50; i++) car.step();
  }, 1);
}
