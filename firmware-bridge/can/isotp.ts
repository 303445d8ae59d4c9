/**
 * ISO-TP (ISO 15765-2) over any `CanBus`: segmentation of payloads up to 4095 bytes (and longer
 * with the 32-bit first-frame escape) into single, first and consecutive frames, with flow control
 * (block size, STmin, WAIT, overflow) and the N_Bs / N_Cr timeouts. Classic CAN (8-byte frames)
 * and CAN FD (tx_dl up to 64). Normal addressing with one transmit and one receive id, 11- or
 * 29-bit (OBD-II: 7E0/7E8, or 18DA10F1/18DAF110 normal-fixed). Section numbers below are ISO
 * 15765-2:2016's.
 */
import { type CanBus, CanBusError } from './bus.js';
import type { CanFrame } from './frame.js';

export type IsoTpErrorCode =
  | 'TIMEOUT_BS' // no flow control from the receiver in N_Bs (§9.8.2)
  | 'TIMEOUT_CR' // no consecutive frame from the sender in N_Cr
  | 'WRONG_SN' // consecutive frame out of sequence (§9.6.4.4)
  | 'OVERFLOW' // the receiver said its buffer is too small (FC.FS = 2)
  | 'WFT_OVERRUN' // too many FC.WAIT
  | 'INVALID_FRAME' // a frame that is no valid N_PDU
  | 'TOO_LONG' // payload longer than this link can carry
  | 'BUSY' // a send is already in progress
  | 'CLOSED';

export class IsoTpError extends Error {
  constructor(
    readonly code: IsoTpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IsoTpError';
  }
}

/** Timers, injected so tests can run without waiting. */
export interface IsoTpTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: IsoTpTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface IsoTpOptions {
  readonly bus: CanBus;
  /** Id this end transmits on (7E0 for a tester talking to the engine ECU). */
  readonly txId: number;
  /** Id this end receives on (7E8). */
  readonly rxId: number;
  readonly extended?: boolean;
  /** CAN FD frames with this data length (12..64); 8 = classic CAN (default). */
  readonly txDataLength?: number;
  /** Pad frames to the full data length with this byte (0xCC is the usual filler); no padding when undefined. */
  readonly padding?: number;
  /**
   * Block size this end announces when receiving (0 = send everything at once). Default 8: one
   * flow control per 8 frames paces a fast sender, so a busy host's socket buffer does not
   * overflow (seen in the emulated test VM with BS 0: a 4095-byte message lost 13 frames and was
   * dropped); a lost frame costs the whole message.
   */
  readonly blockSize?: number;
  /** STmin this end announces when receiving, in ms (0..127). */
  readonly stMinMs?: number;
  /** Wait for flow control after a first frame or a block (N_Bs), ms; default 1000. */
  readonly timeoutBsMs?: number;
  /** Wait for the next consecutive frame (N_Cr), ms; default 1000. */
  readonly timeoutCrMs?: number;
  /** Most FC.WAIT frames accepted in a row (N_WFTmax); default 10. */
  readonly maxWaitFrames?: number;
  /** Largest payload this end accepts (FC overflow above it); default 4095. */
  readonly maxReceiveLength?: number;
  readonly timers?: IsoTpTimers;
}

const PCI_SF = 0x0;
const PCI_FF = 0x1;
const PCI_CF = 0x2;
const PCI_FC = 0x3;
const FC_CTS = 0;
const FC_WAIT = 1;
const FC_OVFLW = 2;

/** STmin byte to milliseconds (§9.6.5.4): 0x00-0x7F ms, 0xF1-0xF9 100-900 µs, reserved -> 127 ms. */
export function stMinToMs(b: number): number {
  if (b <= 0x7f) return b;
  if (b >= 0xf1 && b <= 0xf9) return (b - 0xf0) / 10;
  return 127;
}

interface Rx {
  buf: Uint8Array;
  length: number;
  received: number;
  nextSn: number;
  blockLeft: number;
  timer: unknown;
}

interface Tx {
  data: Uint8Array;
  offset: number;
  sn: number;
  waits: number;
  /** A flow control is expected now (after the first frame, or after the last frame of a block). */
  waitingFc: boolean;
  timer: unknown;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One ISO-TP connection (a tx/rx id pair) on a bus. */
export class IsoTpLink {
  readonly #o: Required<Omit<IsoTpOptions, 'padding' | 'extended'>> & {
    padding: number | undefined;
    extended: boolean;
  };
  readonly #listeners = new Set<(payload: Uint8Array) => void>();
  readonly #errorListeners = new Set<(e: IsoTpError) => void>();
  readonly #unsubscribe: () => void;
  #rx: Rx | undefined;
  #tx: Tx | undefined;
  #closed = false;

  constructor(options: IsoTpOptions) {
    const txDl = options.txDataLength ?? 8;
    if (![8, 12, 16, 20, 24, 32, 48, 64].includes(txDl))
      throw new RangeError(`txDataLength ${txDl}; expected 8 or a CAN FD length 12..64`);
    this.#o = {
      bus: options.bus,
      txId: options.txId,
      rxId: options.rxId,
      extended: options.extended ?? (options.txId > 0x7ff || options.rxId > 0x7ff),
      txDataLength: txDl,
      padding: options.padding,
      blockSize: options.blockSize ?? 8,
      stMinMs: options.stMinMs ?? 0,
      timeoutBsMs: options.timeoutBsMs ?? 1000,
      timeoutCrMs: options.timeoutCrMs ?? 1000,
      maxWaitFrames: options.maxWaitFrames ?? 10,
      maxReceiveLength: options.maxReceiveLength ?? 4095,
      timers: options.timers ?? realTimers,
    };
    this.#unsubscribe = this.#o.bus.onFrame((f) => this.#onFrame(f));
  }

  /** Subscribes to complete received payloads. */
  onMessage(listener: (payload: Uint8Array) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to reception errors (timeouts, sequence errors); the partial payload is dropped. */
  onError(listener: (e: IsoTpError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** The next complete payload, or IsoTpError TIMEOUT_CR-style rejection after `timeoutMs`. */
  receive(timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = this.#o.timers.setTimeout(() => {
        off();
        reject(
          new IsoTpError('TIMEOUT_CR', `no message on 0x${this.#o.rxId.toString(16)} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const off = this.onMessage((p) => {
        this.#o.timers.clearTimeout(timer);
        off();
        resolve(p);
      });
    });
  }

  /** Sends one payload; resolves when the last frame is on the bus. One send at a time. */
  send(payload: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new IsoTpError('CLOSED', 'link is closed'));
    if (this.#tx) return Promise.reject(new IsoTpError('BUSY', 'a send is in progress on this link'));
    if (payload.length > 0xffffffff)
      return Promise.reject(new IsoTpError('TOO_LONG', `payload of ${payload.length} bytes`));
    const dl = this.#o.txDataLength;
    // Single frame capacity: 7 bytes classic; with FD, escape SF (§9.6.2.1) carries dl - 2.
    const sfMax = dl === 8 ? 7 : dl - 2;
    if (payload.length <= sfMax) {
      const head = payload.length <= 7 ? [(PCI_SF << 4) | payload.length] : [0x00, payload.length];
      return this.#write(Uint8Array.from([...head, ...payload]));
    }
    return new Promise<void>((resolve, reject) => {
      const tx: Tx = {
        data: payload,
        offset: 0,
        sn: 1,
        waits: 0,
        waitingFc: true,
        timer: undefined,
        resolve,
        reject,
      };
      this.#tx = tx;
      let head: number[];
      if (payload.length <= 4095) head = [(PCI_FF << 4) | (payload.length >> 8), payload.length & 0xff];
      else
        head = [
          PCI_FF << 4,
          0,
          (payload.length >>> 24) & 0xff,
          (payload.length >>> 16) & 0xff,
          (payload.length >>> 8) & 0xff,
          payload.length & 0xff,
        ];
      const first = payload.subarray(0, dl - head.length);
      tx.offset = first.length;
      // Arm N_Bs before the first frame leaves: the flow control may arrive before write returns.
      this.#awaitFlowControl(tx);
      this.#write(Uint8Array.from([...head, ...first])).catch((e: Error) => this.#failTx(tx, e));
    });
  }

  /** Stops listening; a send in progress fails with CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    if (this.#tx) this.#failTx(this.#tx, new IsoTpError('CLOSED', 'link closed during send'));
    if (this.#rx) this.#o.timers.clearTimeout(this.#rx.timer);
    this.#rx = undefined;
  }

  #awaitFlowControl(tx: Tx): void {
    tx.timer = this.#o.timers.setTimeout(
      () =>
        this.#failTx(
          tx,
          new IsoTpError(
            'TIMEOUT_BS',
            `no flow control on 0x${this.#o.rxId.toString(16)} within ${this.#o.timeoutBsMs} ms (N_Bs)`,
          ),
        ),
      this.#o.timeoutBsMs,
    );
  }

  #failTx(tx: Tx, e: Error): void {
    if (this.#tx !== tx) return;
    this.#o.timers.clearTimeout(tx.timer);
    this.#tx = undefined;
    tx.reject(e);
  }

  #onFlowControl(fc: Uint8Array): void {
    const tx = this.#tx;
    if (!tx || !tx.waitingFc) return; // not waiting for one (§9.8.3: ignore)
    this.#o.timers.clearTimeout(tx.timer);
    const fs = fc[0]! & 0x0f;
    if (fs === FC_OVFLW) {
      this.#failTx(tx, new IsoTpError('OVERFLOW', `receiver cannot take ${tx.data.length} bytes`));
      return;
    }
    if (fs === FC_WAIT) {
      if (++tx.waits > this.#o.maxWaitFrames) {
        this.#failTx(tx, new IsoTpError('WFT_OVERRUN', `more than ${this.#o.maxWaitFrames} FC.WAIT`));
        return;
      }
      this.#awaitFlowControl(tx);
      return;
    }
    if (fs !== FC_CTS || fc.length < 3) {
      this.#failTx(tx, new IsoTpError('INVALID_FRAME', `flow control with status ${fs}`));
      return;
    }
    tx.waits = 0;
    tx.waitingFc = false;
    const bs = fc[1]!;
    const gapMs = stMinToMs(fc[2]!);
    void this.#sendBlock(tx, bs, gapMs);
  }

  async #sendBlock(tx: Tx, bs: number, gapMs: number): Promise<void> {
    const per = this.#o.txDataLength - 1;
    let sentInBlock = 0;
    try {
      while (tx.offset < tx.data.length) {
        if (this.#tx !== tx) return;
        const chunk = tx.data.subarray(tx.offset, tx.offset + per);
        const last = tx.offset + chunk.length >= tx.data.length;
        // The block's last frame: expect a flow control before it leaves, as the answer can come
        // back before the write returns on a fast bus.
        const endsBlock = !last && bs > 0 && sentInBlock + 1 >= bs;
        if (endsBlock) {
          tx.waitingFc = true;
          this.#awaitFlowControl(tx);
        }
        const frame = Uint8Array.from([(PCI_CF << 4) | tx.sn, ...chunk]);
        tx.offset += chunk.length;
        tx.sn = (tx.sn + 1) & 0x0f;
        sentInBlock++;
        await this.#write(frame);
        if (endsBlock) return;
        if (!last && gapMs > 0) await new Promise<void>((r) => this.#o.timers.setTimeout(r, gapMs));
      }
      if (this.#tx === tx) {
        this.#tx = undefined;
        tx.resolve();
      }
    } catch (e) {
      this.#failTx(tx, e as Error);
    }
  }

  async #write(payload: Uint8Array): Promise<void> {
    const dl = this.#o.txDataLength;
    let data = payload;
    if (this.#o.padding !== undefined && payload.length < dl && dl === 8) {
      data = new Uint8Array(8).fill(this.#o.padding);
      data.set(payload);
    } else if (dl > 8) {
      // CAN FD frames come in fixed lengths; pad up to the next one (§9.5.3).
      const len = [8, 12, 16, 20, 24, 32, 48, 64].find((l) => l >= payload.length)!;
      if (len !== payload.length || this.#o.padding !== undefined) {
        data = new Uint8Array(this.#o.padding !== undefined ? Math.max(len, 8) : len).fill(
          this.#o.padding ?? 0xcc,
        );
        data.set(payload);
      }
    }
    const frame = { id: this.#o.txId, extended: this.#o.extended, fd: dl > 8, data };
    // A full transmit queue is transient on a busy bus: retry briefly before giving up.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.bus.send(frame);
        return;
      } catch (e) {
        if (!(e instanceof CanBusError) || e.code !== 'SEND_FAILED' || attempt >= 50) throw e;
        await new Promise<void>((r) => this.#o.timers.setTimeout(r, 1));
      }
    }
  }

  #onFrame(f: CanFrame): void {
    if (f.id !== this.#o.rxId || f.extended !== this.#o.extended || f.rtr || f.data.length === 0) return;
    const d = f.data;
    const type = d[0]! >> 4;
    if (type === PCI_FC) {
      this.#onFlowControl(d);
      return;
    }
    if (type === PCI_SF) {
      this.#onSingle(d);
      return;
    }
    if (type === PCI_FF) {
      this.#onFirst(d);
      return;
    }
    if (type === PCI_CF) {
      this.#onConsecutive(d);
      return;
    }
    this.#emitError(new IsoTpError('INVALID_FRAME', `PCI type ${type} on 0x${f.id.toString(16)}`));
  }

  #onSingle(d: Uint8Array): void {
    let len = d[0]! & 0x0f;
    let start = 1;
    if (len === 0 && d.length > 8) {
      len = d[1]!;
      start = 2;
    }
    if (len === 0 || start + len > d.length) {
      this.#emitError(new IsoTpError('INVALID_FRAME', `single frame of length ${len} in ${d.length} bytes`));
      return;
    }
    // A new SF while receiving a segmented message aborts that reception (§9.8.3).
    this.#abortRx();
    this.#deliver(d.slice(start, start + len));
  }

  #onFirst(d: Uint8Array): void {
    let len = ((d[0]! & 0x0f) << 8) | (d[1] ?? 0);
    let start = 2;
    if (len === 0) {
      if (d.length < 6) {
        this.#emitError(new IsoTpError('INVALID_FRAME', 'escaped first frame too short'));
        return;
      }
      len = ((d[2]! << 24) >>> 0) + (d[3]! << 16) + (d[4]! << 8) + d[5]!;
      start = 6;
    }
    this.#abortRx();
    if (len > this.#o.maxReceiveLength) {
      void this.#write(Uint8Array.of((PCI_FC << 4) | FC_OVFLW, 0, 0)).catch(() => {});
      this.#emitError(
        new IsoTpError(
          'OVERFLOW',
          `first frame announces ${len} bytes; at most ${this.#o.maxReceiveLength} accepted`,
        ),
      );
      return;
    }
    const rx: Rx = {
      buf: new Uint8Array(len),
      length: len,
      received: 0,
      nextSn: 1,
      blockLeft: this.#o.blockSize,
      timer: undefined,
    };
    const first = d.subarray(start, Math.min(d.length, start + len));
    rx.buf.set(first);
    rx.received = first.length;
    this.#rx = rx;
    this.#sendFlowControl(rx);
  }

  #sendFlowControl(rx: Rx): void {
    rx.blockLeft = this.#o.blockSize;
    void this.#write(Uint8Array.of((PCI_FC << 4) | FC_CTS, this.#o.blockSize, this.#o.stMinMs)).catch(
      (e: Error) =>
        this.#emitError(new IsoTpError('INVALID_FRAME', `cannot send flow control: ${e.message}`)),
    );
    this.#armCr(rx);
  }

  #armCr(rx: Rx): void {
    this.#o.timers.clearTimeout(rx.timer);
    rx.timer = this.#o.timers.setTimeout(() => {
      if (this.#rx !== rx) return;
      this.#rx = undefined;
      this.#emitError(
        new IsoTpError(
          'TIMEOUT_CR',
          `no consecutive frame within ${this.#o.timeoutCrMs} ms (N_Cr); ${rx.received} of ${rx.length} bytes received`,
        ),
      );
    }, this.#o.timeoutCrMs);
  }

  #onConsecutive(d: Uint8Array): void {
    const rx = this.#rx;
    if (!rx) return; // unexpected CF: ignored (§9.8.3)
    const sn = d[0]! & 0x0f;
    if (sn !== rx.nextSn) {
      this.#abortRx();
      this.#emitError(new IsoTpError('WRONG_SN', `consecutive frame ${sn}; expected ${rx.nextSn}`));
      return;
    }
    const take = Math.min(d.length - 1, rx.length - rx.received);
    rx.buf.set(d.subarray(1, 1 + take), rx.received);
    rx.received += take;
    rx.nextSn = (rx.nextSn + 1) & 0x0f;
    if (rx.received >= rx.length) {
      this.#o.timers.clearTimeout(rx.timer);
      this.#rx = undefined;
      this.#deliver(rx.buf);
      return;
    }
    if (this.#o.blockSize > 0 && --rx.blockLeft === 0) this.#sendFlowControl(rx);
    else this.#armCr(rx);
  }

  #abortRx(): void {
    if (this.#rx) this.#o.timers.clearTimeout(this.#rx.timer);
    this.#rx = undefined;
  }

  #deliver(payload: Uint8Array): void {
    for (const l of this.#listeners) l(payload);
  }

  #emitError(e: IsoTpError): void {
    for (const l of this.#errorListeners) l(e);
  }
}
