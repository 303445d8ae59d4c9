/**
 * SocketCAN through the `socketcan` addon (the one file that imports it): a raw CAN socket per
 * interface with CAN FD frames enabled, kernel receive filters, kernel receive timestamps, error
 * frames decoded into events, non-blocking send, and an interface that goes down and comes back
 * reopened without restarting the process (the link state is read from sysfs, IFF_UP).
 *
 * Limits of the addon, stated here so nobody relies on them: a received frame does not say
 * whether it was CAN FD; frames longer than 8 bytes are marked FD, FD frames of 8 bytes or less
 * are reported as classic, and BRS/ESI are not reported on receive.
 */
import { readFileSync } from 'node:fs';
import { type CanBus, CanBusError } from './bus.js';
import { decodeErrorFrame } from './error-frames.js';
import {
  type CanBusEvent,
  type CanBusStats,
  type CanFilter,
  type CanFrame,
  checkOutgoingFrame,
  type OutgoingCanFrame,
} from './frame.js';
import { type MicroClock, systemMicroClock } from './memory-bus.js';

// linux/can.h flag bits in can_id.
const CAN_EFF_FLAG = 0x80000000;
const IFF_UP = 0x1;

interface RawMessage {
  id: number;
  ext?: boolean;
  rtr?: boolean;
  err?: boolean;
  data: Buffer;
  ts_sec?: number;
  ts_usec?: number;
}

interface RawChannel {
  addListener(event: 'onMessage', cb: (m: RawMessage) => void): void;
  addListener(event: 'onStopped', cb: () => void): void;
  start(): void;
  stop(): void;
  send(m: { id: number; ext?: boolean; rtr?: boolean; data: Buffer }): number;
  sendFD(m: { id: number; ext?: boolean; fd_brs?: boolean; data: Buffer }): number;
  setRxFilters(filters: { id: number; mask: number; invert?: boolean }[]): void;
}

type Addon = {
  createRawChannelWithOptions(
    name: string,
    o: { timestamps?: boolean; non_block_send?: boolean },
  ): RawChannel;
};

export interface SocketCanOptions {
  /** Interface name (`can0`, `vcan0`). */
  readonly interface: string;
  /** First and last wait between reopen attempts after the link went down. */
  readonly reopenMinMs?: number;
  readonly reopenMaxMs?: number;
  readonly clock?: MicroClock;
  /** Reads the interface's flags (default: /sys/class/net/<if>/flags); undefined when it does not exist. */
  readonly readLinkFlags?: (iface: string) => number | undefined;
}

/** Reads IFF_* flags of a network interface from sysfs. */
export function sysfsLinkFlags(iface: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(`/sys/class/net/${iface}/flags`, 'utf8').trim(), 16);
  } catch {
    return undefined;
  }
}

let addonPromise: Promise<Addon> | undefined;
function loadAddon(): Promise<Addon> {
  addonPromise ??= import('socketcan').then(
    (m) => (m as unknown as { default?: Addon }).default ?? (m as unknown as Addon),
  );
  return addonPromise;
}

/** Opens a SocketCAN interface. Rejects with CanBusError OPEN_FAILED when it does not exist or is not CAN. */
export async function openSocketCan(options: SocketCanOptions): Promise<CanBus> {
  const addon = await loadAddon().catch((err: unknown) => {
    throw new CanBusError(
      'OPEN_FAILED',
      options.interface,
      `the socketcan addon did not load (${String(err)}); was it built by npm install?`,
    );
  });
  const bus = new SocketCanBus(addon, options);
  bus.open();
  return bus;
}

/**
 * Channels stopped but not yet closed by libuv. The addon's stop() calls uv_close on two uv_async_t
 * handles that live inside the channel object, then drops its own reference to it: if the garbage
 * collector frees the object before libuv's close phase has run, libuv finishes closing freed memory
 * and node aborts (`uv__finish_close: Assertion ... UV_HANDLE_CLOSING failed`, seen once in the VM
 * contract test). Holding the object for two turns of the event loop (the close phase runs after
 * the check phase of the turn that closed it) keeps it alive until then.
 */
const closing = new Set<RawChannel>();

function keepUntilClosed(ch: RawChannel): void {
  closing.add(ch);
  setImmediate(() => setImmediate(() => closing.delete(ch)));
}

class SocketCanBus implements CanBus {
  readonly name: string;
  readonly #frameListeners = new Set<(f: CanFrame) => void>();
  readonly #eventListeners = new Set<(e: CanBusEvent) => void>();
  readonly #stats: CanBusStats = { framesIn: 0, framesOut: 0, errorFrames: 0, dropped: 0, reopens: 0 };
  readonly #clock: MicroClock;
  readonly #readFlags: (iface: string) => number | undefined;
  #channel: RawChannel | undefined;
  #filters: readonly CanFilter[] = [];
  #closed = false;
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenDelayMs: number;

  readonly #addon: Addon;
  readonly #options: SocketCanOptions;

  constructor(addon: Addon, options: SocketCanOptions) {
    this.#addon = addon;
    this.#options = options;
    this.name = options.interface;
    this.#clock = options.clock ?? systemMicroClock;
    this.#readFlags = options.readLinkFlags ?? sysfsLinkFlags;
    this.#reopenDelayMs = options.reopenMinMs ?? 200;
  }

  /** @internal Opens the socket; throws CanBusError OPEN_FAILED. */
  open(): void {
    const flags = this.#readFlags(this.name);
    if (flags === undefined) throw new CanBusError('OPEN_FAILED', this.name, 'no such network interface');
    let ch: RawChannel;
    try {
      ch = this.#addon.createRawChannelWithOptions(this.name, { timestamps: true, non_block_send: true });
      ch.addListener('onMessage', (m) => this.#onMessage(m));
      ch.addListener('onStopped', () => this.#onStopped());
      this.#applyFilters(ch);
      ch.start();
    } catch (err) {
      throw new CanBusError(
        'OPEN_FAILED',
        this.name,
        `cannot open a raw CAN socket: ${(err as Error).message}`,
      );
    }
    this.#channel = ch;
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
    const ch = this.#channel;
    if (ch === undefined) throw new CanBusError('BUS_DOWN', this.name, 'link is down');
    const problem = checkOutgoingFrame(frame);
    if (problem !== undefined) throw new CanBusError('INVALID_FRAME', this.name, problem);
    const data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    let sent: number;
    if (frame.fd)
      sent = ch.sendFD({ id: frame.id, ext: frame.extended ?? false, fd_brs: frame.brs ?? false, data });
    // A remote frame carries its DLC as the length of a zero payload.
    else sent = ch.send({ id: frame.id, ext: frame.extended ?? false, rtr: frame.rtr ?? false, data });
    if (sent < 0)
      throw new CanBusError(
        'SEND_FAILED',
        this.name,
        'the kernel refused the frame (transmit queue full or link down)',
      );
    this.#stats.framesOut++;
  }

  setFilters(filters: readonly CanFilter[]): void {
    this.#filters = [...filters];
    if (this.#channel) this.#applyFilters(this.#channel);
  }

  stats(): Readonly<CanBusStats> {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reopenTimer) clearTimeout(this.#reopenTimer);
    const ch = this.#channel;
    this.#channel = undefined;
    try {
      ch?.stop();
    } catch {
      // already stopped by the addon when the link went down
    }
    if (ch !== undefined) keepUntilClosed(ch);
    this.#frameListeners.clear();
    this.#eventListeners.clear();
  }

  #applyFilters(ch: RawChannel): void {
    // Kernel semantics (linux/can/raw.c): a frame passes when (id & mask) == (filter.id & mask).
    // CAN_EFF_FLAG in both id and mask selects 29-bit or 11-bit frames only.
    const raw =
      this.#filters.length === 0
        ? [{ id: 0, mask: 0 }]
        : this.#filters.map((f) => ({
            id: ((f.extended ? CAN_EFF_FLAG : 0) | f.id) >>> 0,
            mask: (CAN_EFF_FLAG | f.mask) >>> 0,
          }));
    ch.setRxFilters(raw);
  }

  #onMessage(m: RawMessage): void {
    const wallUs = m.ts_sec === undefined ? this.#clock.wallUs() : m.ts_sec * 1e6 + (m.ts_usec ?? 0);
    if (m.err) {
      this.#stats.errorFrames++;
      const data = new Uint8Array(m.data);
      const event: CanBusEvent = {
        type: 'error',
        bus: this.name,
        kinds: decodeErrorFrame(m.id, data),
        data,
        wallUs,
      };
      for (const l of this.#eventListeners) l(event);
      return;
    }
    this.#stats.framesIn++;
    const rtr = m.rtr ?? false;
    const frame: CanFrame = {
      id: m.id,
      extended: m.ext ?? false,
      rtr,
      fd: m.data.length > 8,
      data: rtr ? new Uint8Array(0) : new Uint8Array(m.data),
      ...(rtr ? { dlc: m.data.length } : {}),
      bus: this.name,
      wallUs,
      monoUs: this.#clock.monoUs(),
    };
    for (const l of this.#frameListeners) l(frame);
  }

  #onStopped(): void {
    if (this.#channel !== undefined) keepUntilClosed(this.#channel);
    this.#channel = undefined;
    if (this.#closed) return;
    const reason = this.#readFlags(this.name) === undefined ? 'interface removed' : 'interface down';
    for (const l of this.#eventListeners) l({ type: 'down', bus: this.name, reason });
    this.#reopenDelayMs = this.#options.reopenMinMs ?? 200;
    this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    this.#reopenTimer = setTimeout(() => {
      if (this.#closed) return;
      const flags = this.#readFlags(this.name);
      if (flags !== undefined && (flags & IFF_UP) !== 0) {
        try {
          this.open();
          this.#stats.reopens++;
          for (const l of this.#eventListeners) l({ type: 'up', bus: this.name });
          return;
        } catch {
          // fall through to another attempt
        }
      }
      this.#reopenDelayMs = Math.min(this.#reopenDelayMs * 2, this.#options.reopenMaxMs ?? 5000);
      this.#scheduleReopen();
    }, this.#reopenDelayMs);
  }
}
