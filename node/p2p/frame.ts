/**
 * Length-prefixed frames on a byte stream: a 4-byte big-endian payload length, then the payload.
 * The decoder refuses a frame longer than its limit as soon as the length arrives (before buffering
 * it), so a peer cannot make a node hold more than one frame's worth of its bytes.
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Why a byte stream is not a sequence of acceptable frames. */
export class FrameError extends Error {
  constructor(
    readonly code: 'OVERSIZED' | 'EMPTY',
    /** Stream offset of the offending length prefix. */
    readonly offset: number,
    message: string,
  ) {
    super(`offset ${offset}: ${message}`);
    this.name = 'FrameError';
  }
}

/** The frame carrying `payload`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Splits a byte stream into frame payloads. */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Stream offset of the first buffered byte. */
  #offset = 0;

  readonly #maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Adds bytes; returns the payloads they complete. Throws FrameError on an oversized or empty frame. */
  push(bytes: Uint8Array): Uint8Array[] {
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.#buffered < FRAME_HEADER_BYTES) break;
      const head = this.#peek(FRAME_HEADER_BYTES);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (length === 0) throw new FrameError('EMPTY', this.#offset, 'a frame of 0 bytes');
      if (length > this.#maxFrameBytes)
        throw new FrameError(
          'OVERSIZED',
          this.#offset,
          `a frame of ${length} bytes; at most ${this.#maxFrameBytes} accepted`,
        );
      if (this.#buffered < FRAME_HEADER_BYTES + length) break;
      this.#take(FRAME_HEADER_BYTES);
      out.push(this.#take(length));
    }
    return out;
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.#buffered;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Uint8Array {
    let first = this.#chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.#chunks);
      this.#chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    this.#offset += n;
    return out;
  }
}
