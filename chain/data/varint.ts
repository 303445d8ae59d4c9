/**
 * LEB128 varints with zigzag signs, for the delta-coded columns of a chunk. Values are safe
 * integers (|v| < 2^53); encoding uses arithmetic, not 32-bit bit operations, above 2^31.
 */

/** A growable byte buffer for varints. */
export class VarintWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  /** Appends a signed safe integer, zigzag-coded (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...). */
  writeSigned(v: number): void {
    this.writeUnsigned(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Appends a non-negative safe integer. */
  writeUnsigned(v: number): void {
    if (this.#len + 8 > this.#buf.length) {
      const next = new Uint8Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  /** The bytes written so far (a copy). */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads varints; throws RangeError on a truncated or overlong value. */
export class VarintReader {
  #pos = 0;

  readonly #buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get done(): boolean {
    return this.#pos >= this.#buf.length;
  }

  readUnsigned(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.#buf[this.#pos++];
      if (b === undefined) throw new RangeError(`varint truncated at byte ${this.#pos - 1}`);
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new RangeError(`varint longer than 8 bytes at byte ${this.#pos - 8}`);
  }

  readSigned(): number {
    const u = this.readUnsigned();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
}
