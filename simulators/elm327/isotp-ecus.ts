/**
 * OBD-II ECUs on an in-memory CAN wire, for the ISO-TP path a TBOX uses (ISO 15765-4): each ECU has
 * its own bus endpoint, receives functional requests (0x7DF or 0x18DB33F1) and physical ones (its
 * 0x7E0+n or 0x18DAxxF1), and answers over ISO-TP from its response id (0x7E8+n or 0x18DAF1xx), so
 * multi-frame answers (the VIN) go through real first frame / flow control / consecutive frames.
 */
import { type CanWire, IsoTpLink, OBD_CAN_IDS } from '../../firmware-bridge/index.js';
import type { EmulatedEcu } from './ecus.js';

export interface IsoTpEcuOptions {
  readonly wire: CanWire;
  readonly addressing: '11bit' | '29bit';
  /**
   * The ECUs; their `address` is the response id (0x7E8..0x7EF, or 0x18DAF1xx with xx the ECU's
   * address).
   */
  readonly ecus: readonly EmulatedEcu[];
  /** Delay before each answer, ms (default 0). */
  readonly responseDelayMs?: number;
}

/** Running ECUs; `close()` detaches them. */
export class IsoTpEcus {
  readonly #closers: (() => void)[] = [];
  /** Requests received, per response id. */
  readonly requests = new Map<number, number>();

  constructor(options: IsoTpEcuOptions) {
    const wide = options.addressing === '29bit';
    for (const ecu of options.ecus) {
      const bus = options.wire.attach(`ecu-${ecu.address.toString(16)}`);
      const txId = ecu.address;
      const physical = wide
        ? OBD_CAN_IDS.request29Base | ((txId & 0xff) << 8)
        : txId - OBD_CAN_IDS.response11Base + OBD_CAN_IDS.request11Base;
      const functional = wide ? OBD_CAN_IDS.functional29 : OBD_CAN_IDS.functional11;
      // Answers always leave on the physical link: the tester's flow control comes back on `physical`.
      const link = new IsoTpLink({ bus, txId, rxId: physical, extended: wide, padding: 0xaa });
      const fLink = new IsoTpLink({ bus, txId, rxId: functional, extended: wide });
      const answer = (req: Uint8Array) => {
        this.requests.set(txId, (this.requests.get(txId) ?? 0) + 1);
        const msgs = ecu.respond(req, 'can');
        const send = async () => {
          for (const m of msgs) await link.send(m).catch(() => {});
        };
        if (msgs.length === 0) return;
        const delay = options.responseDelayMs ?? 0;
        if (delay > 0) setTimeout(() => void send(), delay);
        else void send();
      };
      link.onMessage(answer);
      fLink.onMessage(answer);
      this.#closers.push(() => {
        link.close();
        fLink.close();
        void bus.close();
      });
    }
  }

  close(): void {
    for (const c of this.#closers.splice(0)) c();
  }
}
