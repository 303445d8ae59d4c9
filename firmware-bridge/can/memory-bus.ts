/**
 * In-memory CAN: a `CanWire` joins any number of `MemoryCanBus` endpoints; a frame sent by one is
 * delivered to every other endpoint (not back to the sender, as SocketCAN without loopback), in
 * order, on a microtask. The test double for `CanBus`, and what simulators use in-process.
 */
import { type CanBus, CanBusError, passesFilters } from './bus.js';
import {
  type CanBusEvent,
  type CanBusStats,
  type CanFilter,
  type CanFrame,
  checkOutgoingFrame,
  type OutgoingCanFrame,
} from './frame.js';

/** Clock for frame timestamps, in microseconds. */
export interface MicroClock {
  wallUs(): number;
  monoUs(): number;
}

export const systemMicroClock: MicroClock = {
  wallUs: () => Date.now() * 1000,
  monoUs: () => Math.floor(performance.now() * 1000),
};

/** A shared medium between memory buses. */
export class CanWire {
  readonly #endpoints = new Set<MemoryCanBus>();
  /** Every frame that crossed the wire, when `record` was asked for (tests check "zero frames written"). */
  readonly sent: CanFrame[] = [];
  readonly #record: boolean;
  readonly #clock: MicroClock;

  constructor(options: { record?: boolean; clock?: MicroClock } = {}) {
    this.#record = options.record ?? false;
    this.#clock = options.clock ?? systemMicroClock;
  }

  /** Creates an endpoint named `name` on this wire. */
  attach(name: string): MemoryCanBus {
    const bus = new MemoryCanBus(name, this);
    this.#endpoints.add(bus);
    return bus;
  }

  /** @internal */
  detach(bus: MemoryCanBus): void {
    this.#endpoints.delete(bus);
  }

  /** @internal Delivers a frame from `from` to every other endpoint. */
  transmit(from: MemoryCanBus, out: OutgoingCanFrame): void {
    const rtr = out.rtr ?? false;
    const frame: CanFrame = {
      id: out.id,
      extended: out.extended ?? false,
      rtr,
      fd: out.fd ?? false,
      ...(out.brs === undefined ? {} : { brs: out.brs }),
      // A remote frame carries no data: the length of its zero payload is the DLC it asks for,
      // received as `dlc` with empty data (frame.ts), as SocketCAN delivers it.
      data: rtr ? new Uint8Array(0) : Uint8Array.from(out.data),
      ...(rtr ? { dlc: out.data.length } : {}),
      bus: from.name,
      wallUs: this.#clock.wallUs(),
      monoUs: this.#clock.monoUs(),
    };
    if (this.#record) this.sent.push(frame);
    for (const ep of this.#endpoints) if (ep !== from) ep.deliver(frame);
  }

  /** Injects a frame as if another node sent it (replay, simulators); every endpoint receives it. */
  inject(frame: CanFrame): void {
    if (this.#record) this.sent.push(frame);
    for (const ep of this.#endpoints) ep.deliver(frame);
  }

  /** Raises an event on every endpoint (error frames, link down/up in tests). */
  raise(event: CanBusEvent): void {
    for (const ep of this.#endpoints) ep.raise(event);
  }
}

export class MemoryCanBus implements CanBus {
  readonly #frameListeners = new Set<(f: CanFrame) => void>();
  readonly #eventListeners = new Set<(e: CanBusEvent) => void>();
  #filters: readonly CanFilter[] = [];
  #closed = false;
  #down = false;
  readonly #stats: CanBusStats = { framesIn: 0, framesOut: 0, errorFrames: 0, dropped: 0, reopens: 0 };

  readonly #wire: CanWire;

  constructor(
    readonly name: string,
    wire: CanWire,
  ) {
    this.#wire = wire;
  }

  onFrame(listener: (frame: CanFrame) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  onEvent(listener: (event: CanBusEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  async send(frame: OutgoingCanFrame): Promise<void> {
    if (this.#closed) throw new CanBusError('CLOSED', this.name, 'bus is closed');
    if (this.#down) throw new CanBusError('BUS_DOWN', this.name, 'link is down');
    const problem = checkOutgoingFrame(frame);
    if (problem !== undefined) throw new CanBusError('INVALID_FRAME', this.name, problem);
    this.#stats.framesOut++;
    this.#wire.transmit(this, frame);
  }

  setFilters(filters: readonly CanFilter[]): void {
    this.#filters = [...filters];
  }

  stats(): Readonly<CanBusStats> {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wire.detach(this);
    this.#frameListeners.clear();
    this.#eventListeners.clear();
  }

  /** @internal */
  deliver(frame: CanFrame): void {
    if (this.#closed || this.#down) return;
    if (!passesFilters(frame, this.#filters)) return;
    this.#stats.framesIn++;
    for (const l of this.#frameListeners) l(frame);
  }

  /** @internal */
  raise(event: CanBusEvent): void {
    if (this.#closed) return;
    if (event.type === 'error') this.#stats.errorFrames++;
    if (event.type === 'down') this.#down = true;
    if (event.type === 'up') {
      if (this.#down) this.#stats.reopens++;
      this.#down = false;
    }
    for (const l of this.#eventListeners) l(event);
  }
}
