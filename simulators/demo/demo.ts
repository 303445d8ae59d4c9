/**
 * `qood demo`: one process that brings up, on embedded defaults, every stage of QoodBlock that
 * exists, feeds it from simulators, and prints what flows. A stage that does not exist is not shown.
 *
 * Now: a simulated car drives a loop through Zurich and puts its CAN traffic (the simulator's own
 * DBC) on an in-memory bus; the agent decodes it, maps it to VSS paths and keeps the latest values,
 * which it serves on its local API like on a device.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config/index.js';
import { CompiledDbc, parseDbc } from '../../agent/decode/can/index.js';
import { silentLogger } from '../../agent/log.js';
import { startAgent } from '../../agent/main.js';
import { Metrics } from '../../agent/metrics.js';
import { noopNotifier } from '../../agent/service.js';
import { CanWire } from '../../firmware-bridge/index.js';
import { readSimDbc, SIM_DBC_PATH, SIM_MAP_PATH, SimFrameScheduler } from '../vehicle/can-frames.js';
import { VehicleModel } from '../vehicle/model.js';

export interface DemoOptions {
  /** Stop after this many seconds; run until `signal` aborts when undefined. */
  readonly seconds?: number;
  /** Prints one line as things flow (a no-op with --json). */
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Simulation step in ms (the vehicle model and its CAN traffic advance this often). */
  readonly tickMs?: number;
}

/** What flowed, as `qood demo --json` prints it. */
export interface DemoSummary {
  readonly seconds: number;
  readonly stages: readonly string[];
  readonly counters: Readonly<Record<string, number>>;
  /** The last value of a few signals, to show what the agent saw. */
  readonly latest: Readonly<Record<string, number | string | boolean>>;
}

const SHOWN = [
  ['Vehicle.Speed', 'km/h'],
  ['Vehicle.Powertrain.CombustionEngine.Speed', 'rpm'],
  ['Vehicle.Powertrain.Transmission.CurrentGear', 'gear'],
  ['Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature', '°C'],
  ['Vehicle.TraveledDistance', 'm'],
] as const;

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'qood-demo-'));
  const metrics = new Metrics();
  const stages: string[] = [];
  const startedMs = performance.now();
  const tickMs = options.tickMs ?? 20;

  // The vehicle and its bus.
  const model = new VehicleModel({ seed: 1 });
  const simDbc = new CompiledDbc(parseDbc(readSimDbc(), SIM_DBC_PATH));
  const scheduler = new SimFrameScheduler({
    encoder: {
      encode: (name, values) => {
        const m = simDbc.byName(name)!;
        return { id: m.message.id, extended: m.message.extended, data: m.encode(values) };
      },
    },
  });
  const wire = new CanWire();
  const ecu = wire.attach('sim0');
  stages.push('vehicle model', 'CAN bus (in memory)');

  const config = agentConfigSchema.parse({
    device: { vehicleId: 'demo-vehicle', dataDir: dir, socketPath: join(dir, 'agent.sock') },
    sources: { can: [{ interface: 'sim0', dbc: SIM_DBC_PATH, map: SIM_MAP_PATH }] },
  });
  const agent = await startAgent({
    config,
    logger: silentLogger,
    notifier: noopNotifier,
    metrics,
    openCanBus: async (src) => wire.attach(src.interface),
  });
  stages.push('agent: decode (DBC) -> VSS samples');
  options.print(
    `vehicle: ${model.current().vin} driving the Zurich loop; CAN traffic from qood-sim.dbc on sim0`,
  );
  options.print(`agent up: vehicle ${config.device.vehicleId}, local API on ${config.device.socketPath}`);

  let simMs = 0;
  let lastReal = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    let due = now - lastReal;
    lastReal = now;
    // Advance in steps of at most tickMs so the dynamics stay smooth if the loop was late.
    while (due > 0) {
      const dt = Math.min(tickMs, due);
      due -= dt;
      simMs += dt;
      const state = model.step(dt);
      for (const f of scheduler.framesDue(simMs, state))
        void ecu.send({ id: f.id, extended: f.extended, data: f.data });
    }
  }, tickMs);
  let lastPrintS = 0;
  const printer = setInterval(() => {
    const s = Math.round((performance.now() - startedMs) / 1000);
    if (s === lastPrintS) return;
    lastPrintS = s;
    const parts = SHOWN.map(([p, unit]) => {
      const v = agent.latest.get(p)?.value;
      return typeof v === 'number' ? `${v.toFixed(p.endsWith('Gear') ? 0 : 1)} ${unit}` : `- ${unit}`;
    });
    options.print(
      `t=${String(s).padStart(3)}s  ${parts.join('  ')}  | frames ${metrics.counter('frames.in')}  samples ${metrics.counter('samples.out')}`,
    );
  }, 250);

  try {
    await waitFor(options.seconds, options.signal);
  } finally {
    clearInterval(tick);
    clearInterval(printer);
    await agent.stop();
    await ecu.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const latest: Record<string, number | string | boolean> = {};
  for (const [p] of SHOWN) {
    const v = agent.latest.get(p)?.value;
    if (v !== undefined) latest[p] = v;
  }
  return {
    seconds: Math.round((performance.now() - startedMs) / 100) / 10,
    stages,
    counters: metrics.snapshot().counters,
    latest,
  };
}

function waitFor(seconds: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = seconds === undefined ? undefined : setTimeout(done, seconds * 1000);
    if (signal?.aborted) done();
    signal?.addEventListener('abort', done);
  });
}
