/**
 * `CanBus`: the one interface the agent uses to read and write a CAN bus. SocketCAN implements it
 * on Linux; `MemoryCanBus` implements it in memory for tests and simulators.
 */
import type { CanBusEvent, CanBusStats, CanFilter, CanFrame, OutgoingCanFrame } from './frame.js';

export interface CanBus {
  /** Interface name (`can0`). */
  readonly name: string;
  /** Subscribes to received frames; returns the unsubscribe function. Listeners run synchronously. */
  onFrame(listener: (frame: CanFrame) => void): () => void;
  /** Subscribes to error frames and link state changes. */
  onEvent(listener: (event: CanBusEvent) => void): () => void;
  /** Sends one frame; rejects with CanBusError when the frame is invalid or the bus is down. */
  send(frame: OutgoingCanFrame): Promise<void>;
  /** Replaces the receive filters; an empty list receives everything. */
  setFilters(filters: readonly CanFilter[]): void;
  stats(): Readonly<CanBusStats>;
  /** Stops receiving and releases the interface. Idempotent. */
  close(): Promise<void>;
}

export type CanBusErrorCode = 'INVALID_FRAME' | 'BUS_DOWN' | 'CLOSED' | 'SEND_FAILED' | 'OPEN_FAILED';

export class CanBusError extends Error {
  constructor(
    readonly code: CanBusErrorCode,
    readonly bus: string,
    message: string,
  ) {
    super(`${bus}: ${message}`);
    this.name = 'CanBusError';
  }
}

/** True when `frame` passes `filters` (kernel semantics: any filter matching lets it through). */
export function passesFilters(
  frame: { id: number; extended: boolean },
  filters: readonly CanFilter[],
): boolean {
  if (filters.length === 0) return true;
  for (const f of filters) {
    if ((f.extended ?? false) !== frame.extended) continue;
    if ((frame.id & f.mask) === (f.id & f.mask)) return true;
  }
  return false;
}
