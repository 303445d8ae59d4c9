/**
 * Line framing for NMEA from a byte stream: bytes arrive in whatever chunks the port delivers, lines
 * end in CR LF (the standard), LF alone or CR alone (receivers and log files differ), a line may be
 * split across chunks, a receiver may interleave binary protocol bytes (u-blox UBX, SiRF binary)
 * with text, and a stream opened mid-sentence starts with half a line. The framer hands complete,
 * printable lines to its callback and counts everything else; it never throws on input.
 */

/** What the framer saw, for diagnostics and metrics. Counters only go up. */
export interface LineFramerStats {
  /** Bytes pushed. */
  bytes: number;
  /** Complete printable lines delivered. */
  lines: number;
  /**
   * Lines that held bytes outside printable ASCII (binary data, line noise): dropped, or cut to the
   * printable sentence after their last `$` when there is one.
   */
  garbageLines: number;
  /** Lines dropped because they grew beyond `maxLineBytes` before a line ending. */
  overlongLines: number;
}

export interface LineFramerOptions {
  /**
   * Longest line kept, in bytes without the line ending. NMEA allows 82 characters including `$`
   * and CR LF, but real receivers exceed it (u-blox GSV with signal ids, OxTS six-decimal positions),
   * so the default is generous.
   */
  readonly maxLineBytes?: number;
}

const CONTROL = 1;
const HIGH = 2;

/** Byte stream -> lines. Keeps at most `maxLineBytes` of a pending partial line. */
export class LineFramer {
  readonly stats: LineFramerStats = { bytes: 0, lines: 0, garbageLines: 0, overlongLines: 0 };
  readonly #max: number;
  #pending = '';
  #discarding = false;
  #pendingBad = 0;

  constructor(options: LineFramerOptions = {}) {
    this.#max = options.maxLineBytes ?? 255;
  }

  /** Feeds bytes; calls `onLine` for each complete line (without its ending), in order. */
  push(chunk: Uint8Array, onLine: (line: string) => void): void {
    this.stats.bytes += chunk.length;
    // latin1 maps bytes 1:1 to code units, so a multi-byte sequence cut by a chunk boundary stays intact.
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    this.pushText(text, onLine);
  }

  /** Feeds text already decoded as latin1 (one character per byte). */
  pushText(text: string, onLine: (line: string) => void): void {
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        this.#endLine(text, start, i, onLine);
        start = i + 1;
      } else if (c < 32 || c === 127) this.#pendingBad |= CONTROL;
      else if (c > 127) this.#pendingBad |= HIGH;
    }
    if (start < n) this.#append(text.slice(start));
  }

  /** Delivers a final line that had no line ending (end of a file). */
  end(onLine: (line: string) => void): void {
    this.#endLine('', 0, 0, onLine);
  }

  /** Drops a partial line (the port was reopened: what follows is a new stream). */
  reset(): void {
    this.#pending = '';
    this.#discarding = false;
    this.#pendingBad = 0;
  }

  #append(part: string): void {
    if (this.#discarding) return;
    if (this.#pending.length + part.length > this.#max) {
      this.#discarding = true;
      this.#pending = '';
      return;
    }
    this.#pending += part;
  }

  #endLine(text: string, from: number, to: number, onLine: (line: string) => void): void {
    const flags = this.#pendingBad;
    this.#pendingBad = 0;
    if (this.#discarding) {
      this.#discarding = false;
      this.stats.overlongLines++;
      return;
    }
    const len = this.#pending.length + (to - from);
    if (len === 0) return; // the LF of CR LF, or blank lines
    if (len > this.#max) {
      this.#pending = '';
      this.stats.overlongLines++;
      return;
    }
    const line = this.#pending.length === 0 ? text.slice(from, to) : this.#pending + text.slice(from, to);
    this.#pending = '';
    // A comment line of a log file (`# Submitter: Manfred Günzl`) may hold non-ASCII text.
    if ((flags & CONTROL) !== 0 || ((flags & HIGH) !== 0 && line.charCodeAt(0) !== 35)) {
      this.stats.garbageLines++;
      const k = line.lastIndexOf('$');
      if (k < 0 || !/^[\x20-\x7e]*$/.test(line.slice(k))) return;
      this.stats.lines++;
      onLine(line.slice(k));
      return;
    }
    this.stats.lines++;
    onLine(line);
  }
}
