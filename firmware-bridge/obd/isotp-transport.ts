/**
 * OBD-II on CAN for a device on the bus (a TBOX): J1979 requests over ISO-TP (ISO 15765-4).
 * Requests go out functionally addressed, as one single frame padded to 8 bytes, on 0x7DF (11-bit)
 * or 0x18DB33F1 (29-bit); every ECU answers on its own id, 0x7E8..0x7EF or 0x18DAF1xx, and a
 * multi-frame answer (the VIN) is received with flow control sent back to that ECU's physical
 * request id (0x7E0..0x7E7, 0x18DAxxF1). Answers are collected until the bus has been quiet for
 * `quietMs` (the J1979 P2 window) so replies from several ECUs come back together.
 */
import type { CanBus } from '../can/bus.js';
import type { CanFrame } from '../can/frame.js';
import { IsoTpLink } from '../can/isotp.js';
import { ObdError } from './obd-error.js';
import type { ObdRequestOptions, ObdResponse, ObdTransport } from './transport.js';

/** ISO 15765-4 identifiers. */
export const OBD_CAN_IDS = {
  functional11: 0x7df,
  functional29: 0x18db33f1,
  /** 0x7E8 + n answers, 0x7E0 + n is that ECU's physical request id (n 0..7). */
  response11Base: 0x7e8,
  request11Base: 0x7e0,
  /** 0x18DAF1xx: an ECU with address xx answering the tester F1. */
  response29Base: 0x18daf100,
  /** 0x18DAxxF1: the tester F1 addressing ECU xx. */
  request29Base: 0x18da00f1,
} as const;

export interface IsoTpObdOptions {
  readonly bus: CanBus;
  readonly addressing: '11bit' | '29bit';
  /** Quiet time after the last answer before the request completes, ms (default 60; J1979 P2 is 50). */
  readonly quietMs?: number;
  /** Longest wait for any answer, ms (default 1000). */
  readonly timeoutMs?: number;
  /** Filler for the request frame (ISO 15765-4 asks for 8-byte frames; default 0xCC). */
  readonly padding?: number;
}

/** J1979 over ISO-TP on a CAN bus. */
export class IsoTpObdTransport implements ObdTransport {
  readonly kind = 'isotp' as const;
  readonly #o: Required<IsoTpObdOptions>;
  readonly #links = new Map<number, IsoTpLink>();
  readonly #spotted = new Set<number>();
  readonly #offFrame: () => void;
  #inbox: ((r: ObdResponse) => void) | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** First frames from an ECU not yet known (its link is made then; the retry succeeds). */
  unknownFirstFrames = 0;

  constructor(options: IsoTpObdOptions) {
    this.#o = {
      bus: options.bus,
      addressing: options.addressing,
      quietMs: options.quietMs ?? 60,
      timeoutMs: options.timeoutMs ?? 1000,
      padding: options.padding ?? 0xcc,
    };
    if (options.addressing === '11bit')
      for (let n = 0; n < 8; n++) this.#linkFor(OBD_CAN_IDS.response11Base + n);
    // 29-bit ECUs can have any of 256 addresses: a link is made for each one seen answering.
    else this.#offFrame = this.#o.bus.onFrame((f) => this.#spot29(f));
    this.#offFrame ??= () => {};
  }

  /** The ECUs that have answered so far, by response id. */
  get knownEcus(): number[] {
    return [...this.#links.keys()];
  }

  request(request: Uint8Array, options: ObdRequestOptions = {}): Promise<ObdResponse[]> {
    const run = this.#busy.then(() => this.#request(request, options));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #request(request: Uint8Array, options: ObdRequestOptions): Promise<ObdResponse[]> {
    if (this.#closed) throw new ObdError('CLOSED', `${this.#o.bus.name}: transport closed`);
    if (request.length < 1 || request.length > 7)
      throw new RangeError(`an OBD request is 1..7 bytes (one single frame), got ${request.length}`);
    const hex = Buffer.from(request).toString('hex').toUpperCase();
    const data = new Uint8Array(8).fill(this.#o.padding);
    data[0] = request.length;
    data.set(request, 1);
    const positive: ObdResponse[] = [];
    const negative: ObdResponse[] = [];
    const timeoutMs = options.timeoutMs ?? this.#o.timeoutMs;
    await new Promise<void>((resolve, reject) => {
      let quiet: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(overall);
        if (quiet) clearTimeout(quiet);
        this.#inbox = undefined;
        resolve();
      };
      const overall = setTimeout(finish, timeoutMs);
      this.#inbox = (r) => {
        if (r.data[0] === 0x7f && r.data[1] === request[0]) {
          // 0x78: response pending, the ECU needs more time (ISO 14229-1 NRC 0x78).
          if (r.data[2] === 0x78) {
            if (quiet) clearTimeout(quiet);
            return;
          }
          negative.push(r);
        } else if (r.data[0] === request[0]! + 0x40) positive.push(r);
        else return;
        if (options.expectedReplies !== undefined && positive.length >= options.expectedReplies) {
          finish();
          return;
        }
        if (quiet) clearTimeout(quiet);
        quiet = setTimeout(finish, this.#o.quietMs);
      };
      this.#o.bus
        .send({
          id: this.#o.addressing === '11bit' ? OBD_CAN_IDS.functional11 : OBD_CAN_IDS.functional29,
          extended: this.#o.addressing === '29bit',
          data,
        })
        .catch((e: Error) => {
          clearTimeout(overall);
          this.#inbox = undefined;
          reject(new ObdError('CAN_ERROR', `${this.#o.bus.name}: ${hex}: ${e.message}`, hex));
        });
    });
    if (positive.length > 0) return positive;
    if (negative.length > 0) {
      const n = negative[0]!;
      throw new ObdError(
        'NEGATIVE_RESPONSE',
        `${hex}: ECU ${n.ecu} refused with NRC 0x${(n.data[2] ?? 0).toString(16)}`,
        hex,
      );
    }
    throw new ObdError(
      'NO_DATA',
      `${hex}: no ECU answered on ${this.#o.bus.name} within ${timeoutMs} ms`,
      hex,
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offFrame();
    for (const l of this.#links.values()) l.close();
    this.#links.clear();
  }

  #linkFor(rxId: number): IsoTpLink {
    let link = this.#links.get(rxId);
    if (link) return link;
    const txId =
      this.#o.addressing === '11bit'
        ? rxId - OBD_CAN_IDS.response11Base + OBD_CAN_IDS.request11Base
        : OBD_CAN_IDS.request29Base | ((rxId & 0xff) << 8);
    link = new IsoTpLink({
      bus: this.#o.bus,
      txId,
      rxId,
      extended: this.#o.addressing === '29bit',
      padding: this.#o.padding,
      blockSize: 0,
    });
    const ecu = rxId.toString(16).toUpperCase();
    link.onMessage((data) => this.#inbox?.({ ecu, data }));
    this.#links.set(rxId, link);
    return link;
  }

  #spot29(f: CanFrame): void {
    if (!f.extended || (f.id & 0x1fffff00) !== OBD_CAN_IDS.response29Base || this.#links.has(f.id)) return;
    if (this.#spotted.has(f.id)) return;
    this.#spotted.add(f.id);
    // The link is made after this frame's delivery, so it never sees this frame whatever order the
    // bus calls its listeners in; a single frame is handed on here, a first frame is lost once.
    queueMicrotask(() => {
      this.#spotted.delete(f.id);
      if (!this.#closed) this.#linkFor(f.id);
    });
    const pci = f.data[0]! >> 4;
    if (pci === 0) {
      const len = f.data[0]! & 0x0f;
      this.#inbox?.({ ecu: f.id.toString(16).toUpperCase(), data: f.data.slice(1, 1 + len) });
    } else if (pci === 1) this.unknownFirstFrames++;
  }
}
