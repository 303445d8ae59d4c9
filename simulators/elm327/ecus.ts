/**
 * Emulated OBD-II ECUs: what a car's engine controller answers to J1979 requests. `VehicleEcu`
 * answers from the vehicle model (speed, engine speed, temperatures, fuel, VIN, trouble codes) so
 * the ELM327 emulator and the ISO-TP ECU emulator describe the same drive as the CAN simulator;
 * `TableEcu` answers from a fixed table, which is how the reference conformance pairs were written.
 * Responses are J1979 messages (service + 0x40 first); framing them is the bus emulator's job.
 */
import { parseDtc } from '../../firmware-bridge/index.js';
import type { VehicleState, VehicleStateSource } from '../vehicle/state.js';

/** How the bus frames messages: CAN carries a DTC count byte and the VIN in one message. */
export type EcuBusKind = 'can' | 'legacy';

/** One emulated ECU. */
export interface EmulatedEcu {
  /** CAN response id (0x7E8, 0x18DAF110) or legacy source address (0x10). */
  readonly address: number;
  /** The messages this ECU sends in answer to `request`; empty when it stays silent. */
  respond(request: Uint8Array, bus: EcuBusKind): Uint8Array[];
}

const clampByte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const u16 = (v: number): [number, number] => {
  const n = Math.max(0, Math.min(0xffff, Math.round(v)));
  return [n >> 8, n & 0xff];
};

/** Service 01 PIDs the vehicle ECU can encode from a `VehicleState` (J1979 formulas, inverted). */
const ENCODERS: Readonly<Record<number, (s: VehicleState, runTimeS: number) => number[]>> = {
  1: (s) => [(s.dtcs.length > 0 ? 0x80 : 0) | Math.min(0x7f, s.dtcs.length), 0x07, 0xe5, 0x00],
  4: (s) => [clampByte((s.engineLoadPct * 255) / 100)],
  5: (s) => [clampByte(s.coolantTempC + 40)],
  12: (s) => u16(s.engineRpm * 4),
  13: (s) => [clampByte(s.speedKmh)],
  15: (s) => [clampByte(s.intakeAirTempC + 40)],
  17: (s) => [clampByte((s.throttlePct * 255) / 100)],
  28: () => [0x06], // EOBD (Europe)
  31: (_s, runTimeS) => u16(runTimeS),
  47: (s) => [clampByte((s.fuelLevelPct * 255) / 100)],
  49: () => u16(1234),
  66: (s) => u16(s.batteryVoltageV * 1000),
  70: (s) => [clampByte(s.intakeAirTempC + 40 - 6)],
  81: () => [0x01], // gasoline
  166: (s) => {
    const n = Math.round(s.odometerKm * 10) >>> 0;
    return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  },
};

/** The supported-PID bitmap (PIDs base+1..base+32) for `pids`, with the next-block bit when needed. */
export function bitmapFor(base: number, pids: readonly number[]): number[] {
  const out = [0, 0, 0, 0];
  const max = Math.max(...pids);
  for (let i = 1; i <= 32; i++) {
    const pid = base + i;
    const next = i === 32 && max > pid;
    if (pids.includes(pid) || next) out[(i - 1) >> 3]! |= 0x80 >> ((i - 1) & 7);
  }
  return out;
}

/** Service 03/07/0A answers: CAN has a count byte, legacy packs three codes per message. */
export function dtcMessages(service: number, codes: readonly string[], bus: EcuBusKind): Uint8Array[] {
  const bytes = codes.flatMap((c) => parseDtc(c));
  if (bus === 'can') return [Uint8Array.from([service + 0x40, codes.length, ...bytes])];
  const out: Uint8Array[] = [];
  for (let i = 0; i < Math.max(1, codes.length); i += 3) {
    const slot = bytes.slice(i * 2, i * 2 + 6);
    while (slot.length < 6) slot.push(0);
    out.push(Uint8Array.from([service + 0x40, ...slot]));
  }
  return out;
}

/** Service 09 02 answers: CAN one message `49 02 01` + 17 characters; legacy five 4-byte messages. */
export function vinMessages(vin: string, bus: EcuBusKind): Uint8Array[] {
  const chars = [...Buffer.from(vin, 'latin1')];
  if (bus === 'can') return [Uint8Array.from([0x49, 0x02, 0x01, ...chars])];
  const padded = [0, 0, 0, ...chars];
  return [0, 1, 2, 3, 4].map((i) => Uint8Array.from([0x49, 0x02, i + 1, ...padded.slice(i * 4, i * 4 + 4)]));
}

export interface VehicleEcuOptions {
  readonly source: VehicleStateSource;
  /** Default 0x7E8 (engine ECU). */
  readonly address?: number;
  /** Called on service 04 (clear DTCs), e.g. the model's `clearDtcs`. */
  readonly clearDtcs?: () => void;
  /** Permanent codes (service 0A); the model has none of its own. */
  readonly permanentDtcs?: readonly string[];
}

/** An engine ECU that answers from the vehicle model. */
export class VehicleEcu implements EmulatedEcu {
  readonly address: number;
  readonly #o: VehicleEcuOptions;
  readonly #pids = Object.keys(ENCODERS)
    .map(Number)
    .sort((a, b) => a - b);
  readonly #startMs: number;

  constructor(options: VehicleEcuOptions) {
    this.#o = options;
    this.address = options.address ?? 0x7e8;
    this.#startMs = options.source.current().tMs;
  }

  /** The service 01 PIDs this ECU answers. */
  get supportedPids(): readonly number[] {
    return this.#pids;
  }

  respond(request: Uint8Array, bus: EcuBusKind): Uint8Array[] {
    const s = this.#o.source.current();
    const service = request[0];
    if (service === 0x01 && request.length === 2) {
      const pid = request[1]!;
      if (pid % 0x20 === 0) {
        // A block is answered when the previous one announced it: some supported PID lies beyond.
        if (pid > 0 && !this.#pids.some((p) => p > pid)) return [];
        return [Uint8Array.from([0x41, pid, ...bitmapFor(pid, this.#pids)])];
      }
      const enc = ENCODERS[pid];
      if (!enc) return [];
      return [Uint8Array.from([0x41, pid, ...enc(s, Math.floor((s.tMs - this.#startMs) / 1000))])];
    }
    if (service === 0x03) return dtcMessages(0x03, s.dtcs, bus);
    if (service === 0x07) return dtcMessages(0x07, s.pendingDtcs, bus);
    if (service === 0x0a) return dtcMessages(0x0a, this.#o.permanentDtcs ?? [], bus);
    if (service === 0x04) {
      this.#o.clearDtcs?.();
      return [Uint8Array.of(0x44)];
    }
    if (service === 0x09 && request[1] === 0x00) return [Uint8Array.of(0x49, 0x00, 0x40, 0x00, 0x00, 0x00)];
    if (service === 0x09 && request[1] === 0x02) return vinMessages(s.vin, bus);
    if (service === 0x01 || service === 0x09) return [];
    // Any other service: "service not supported" (ISO 14229-1 NRC 0x11).
    return service === undefined ? [] : [Uint8Array.of(0x7f, service, 0x11)];
  }
}

/** An ECU that answers from a fixed table of request hex -> response messages. */
export class TableEcu implements EmulatedEcu {
  readonly #table: Readonly<Record<string, readonly (readonly number[])[]>>;

  constructor(
    readonly address: number,
    table: Readonly<Record<string, readonly (readonly number[])[]>>,
  ) {
    this.#table = table;
  }

  respond(request: Uint8Array): Uint8Array[] {
    const key = Buffer.from(request).toString('hex').toUpperCase();
    return (this.#table[key] ?? []).map((m) => Uint8Array.from(m));
  }
}
