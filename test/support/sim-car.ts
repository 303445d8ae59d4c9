/**
 * The simulated car on an in-memory CAN bus, for tests that run the real agent: the vehicle model's
 * CAN traffic (the simulator's DBC) on `sim0`, with frames stamped in simulated time, which the
 * test advances faster than the wall clock.
 */
import { CompiledDbc, parseDbc } from '../../agent/decode/can/index.js';
import { type CanBus, CanWire } from '../../firmware-bridge/index.js';
import { readSimDbc, SIM_DBC_PATH, SimFrameScheduler } from '../../simulators/vehicle/can-frames.js';
import { VehicleModel } from '../../simulators/vehicle/model.js';

/** Milliseconds of simulated time per step. */
const STEP_MS = 10;

export class SimCar {
  /** The simulated wall clock, ms since the epoch (the agent's `nowMs`). */
  simMs: number;
  /** Simulated ms driven so far. */
  drivenMs = 0;
  readonly #wire: CanWire;
  readonly #ecu: CanBus;
  readonly #model: VehicleModel;
  readonly #scheduler: SimFrameScheduler;

  constructor(options: { startMs: number; seed: number }) {
    this.simMs = options.startMs;
    this.#wire = new CanWire({ clock: { wallUs: () => this.simMs * 1000, monoUs: () => this.simMs * 1000 } });
    this.#ecu = this.#wire.attach('sim0');
    this.#model = new VehicleModel({ seed: options.seed });
    const dbc = new CompiledDbc(parseDbc(readSimDbc(), SIM_DBC_PATH));
    this.#scheduler = new SimFrameScheduler({
      encoder: {
        encode: (name, values) => {
          const m = dbc.byName(name)!;
          return { id: m.message.id, extended: m.message.extended, data: m.encode(values) };
        },
      },
    });
  }

  /** The agent's `nowMs` option. */
  readonly nowMs = (): number => this.simMs;

  /** The agent's `openCanBus` option: the agent's end of the bus. */
  readonly openCanBus = async (src: { interface: string }): Promise<CanBus> =>
    this.#wire.attach(src.interface);

  /** Advances one step: the model moves 10 ms and the frames due are sent. */
  step(): void {
    this.drivenMs += STEP_MS;
    this.simMs += STEP_MS;
    for (const f of this.#scheduler.framesDue(this.drivenMs, this.#model.step(STEP_MS)))
      void this.#ecu.send({ id: f.id, extended: f.extended, data: f.data });
  }

  /**
   * Drives until `untilMs` simulated ms, `stepsPerTick` steps every wall millisecond tick
   * (20: 20x faster than real time); `onStep` sees each step's driven ms.
   */
  drive(untilMs: number, stepsPerTick = 20, onStep?: (drivenMs: number) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < stepsPerTick && this.drivenMs < untilMs; i++) {
          this.step();
          onStep?.(this.drivenMs);
        }
        if (this.drivenMs >= untilMs) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
  }
}
