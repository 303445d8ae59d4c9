/**
 * The J1979 services every OBD user needs, over any `ObdTransport`: supported-PID discovery for
 * service 01 (0100, 0120, 0140 ... while the last PID of each block says the next block exists),
 * reading a PID, the VIN (09 02), stored / pending / permanent trouble codes (03, 07, 0A) and
 * clearing them (04). Clearing is a method the owner calls and nothing here ever calls it.
 */
import { dtcsFromResponse, supportedFromBitmap, vinFromResponses } from './j1979-frames.js';
import { ObdError } from './obd-error.js';
import type { ObdRequestOptions, ObdResponse, ObdTransport } from './transport.js';

/** The DTC services: 03 stored (confirmed), 07 pending, 0A permanent. */
export const DTC_SERVICES = { stored: 0x03, pending: 0x07, permanent: 0x0a } as const;
export type DtcKind = keyof typeof DTC_SERVICES;

/** Supported service 01 PIDs, merged over ECUs and per ECU. */
export interface SupportedPids {
  /** Sorted, without the 00/20/40... bitmap PIDs themselves. */
  readonly all: readonly number[];
  readonly byEcu: ReadonlyMap<string, readonly number[]>;
}

/** A trouble code and the ECU that reported it. */
export interface DtcEntry {
  readonly code: string;
  readonly ecu: string;
  readonly kind: DtcKind;
}

/** `01 0C` as the `010C` spelling the CLI and config use. */
export function pidName(pid: number, service = 1): string {
  return `${service.toString(16).toUpperCase().padStart(2, '0')}${pid.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** J1979 services on a transport. */
export class ObdClient {
  readonly #options: { readonly transport: ObdTransport };

  constructor(options: { readonly transport: ObdTransport }) {
    this.#options = options;
  }

  get transport(): ObdTransport {
    return this.#options.transport;
  }

  /** Walks the service 01 bitmaps; a car that answers none has no supported PIDs (not an error). */
  async supportedPids(): Promise<SupportedPids> {
    const byEcu = new Map<string, Set<number>>();
    for (let base = 0; base <= 0xe0; base += 0x20) {
      let replies: ObdResponse[];
      try {
        replies = await this.#options.transport.request(Uint8Array.of(0x01, base));
      } catch (e) {
        if (e instanceof ObdError && (e.code === 'NO_DATA' || e.code === 'NEGATIVE_RESPONSE')) break;
        throw e;
      }
      let more = false;
      for (const r of replies) {
        const set = byEcu.get(r.ecu) ?? new Set<number>();
        byEcu.set(r.ecu, set);
        for (const pid of supportedFromBitmap(base, r.data.subarray(2, 6))) set.add(pid);
        if (set.has(base + 0x20)) more = true;
      }
      if (!more) break;
    }
    const isBitmap = (p: number) => p % 0x20 === 0;
    const all = new Set<number>();
    const out = new Map<string, number[]>();
    for (const [ecu, set] of byEcu) {
      const list = [...set].filter((p) => !isBitmap(p)).sort((a, b) => a - b);
      out.set(ecu, list);
      for (const p of list) all.add(p);
    }
    return { all: [...all].sort((a, b) => a - b), byEcu: out };
  }

  /** Reads one service 01 PID; each response's `data` starts with 41 and the PID. */
  readPid(pid: number, options?: ObdRequestOptions): Promise<ObdResponse[]> {
    return this.#options.transport.request(Uint8Array.of(0x01, pid), options);
  }

  /** The VIN (09 02) from the first ECU that gives a valid one; undefined when none does. */
  async readVin(): Promise<string | undefined> {
    let replies: ObdResponse[];
    try {
      replies = await this.#options.transport.request(Uint8Array.of(0x09, 0x02));
    } catch (e) {
      if (e instanceof ObdError && (e.code === 'NO_DATA' || e.code === 'NEGATIVE_RESPONSE')) return undefined;
      throw e;
    }
    const byEcu = new Map<string, Uint8Array[]>();
    for (const r of replies) byEcu.set(r.ecu, [...(byEcu.get(r.ecu) ?? []), r.data]);
    for (const msgs of byEcu.values()) {
      const vin = vinFromResponses(msgs);
      if (vin) return vin;
    }
    return undefined;
  }

  /** Trouble codes of one kind from every ECU; an ECU with none answers `43 00` (or NO DATA). */
  async readDtcs(kind: DtcKind): Promise<DtcEntry[]> {
    let replies: ObdResponse[];
    try {
      replies = await this.#options.transport.request(Uint8Array.of(DTC_SERVICES[kind]));
    } catch (e) {
      if (e instanceof ObdError && (e.code === 'NO_DATA' || e.code === 'NEGATIVE_RESPONSE')) return [];
      throw e;
    }
    const out: DtcEntry[] = [];
    for (const r of replies)
      for (const code of dtcsFromResponse(r.data)) out.push({ code, ecu: r.ecu, kind });
    return out;
  }

  /** Stored, pending and permanent codes together. */
  async readAllDtcs(): Promise<DtcEntry[]> {
    return [
      ...(await this.readDtcs('stored')),
      ...(await this.readDtcs('pending')),
      ...(await this.readDtcs('permanent')),
    ];
  }

  /**
   * Service 04: clears stored and pending codes and freeze frames and turns the MIL off. Only an
   * owner's explicit action may call this. Resolves with the ECUs that acknowledged.
   */
  async clearDtcs(): Promise<string[]> {
    const replies = await this.#options.transport.request(Uint8Array.of(0x04), { timeoutMs: 5000 });
    return replies.map((r) => r.ecu);
  }
}
