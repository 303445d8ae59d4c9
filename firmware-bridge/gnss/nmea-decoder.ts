/**
 * `NmeaDecoder`: NMEA bytes or lines in, fixes out. Frames lines, checks and parses each sentence,
 * assembles epochs into fixes, and counts what it dropped; each rejected line is reported with its
 * line number, column and reason, and decoding goes on. The serial source, `qood gnss decode` and
 * the benchmark all run this one path.
 */
import type { GnssClock, GnssFix } from './fix.js';
import { FixAssembler } from './fix-assembler.js';
import { LineFramer } from './line-framer.js';
import type { NmeaProblem } from './nmea-frame.js';
import { type NmeaSentence, parseNmeaSentence } from './nmea-parse.js';

/** A line the decoder rejected. */
export interface NmeaLineProblem extends NmeaProblem {
  /** 1-based number of the line among the lines framed so far. */
  readonly line: number;
  /** The start of the offending line (at most 100 characters). */
  readonly text: string;
}

/** Everything the decoder counted. */
export interface NmeaDecoderStats {
  bytes: number;
  lines: number;
  /** Sentences that passed the checksum and parsed. */
  sentences: number;
  /** Of those, sentences of types not decoded (TXT, proprietary ...). */
  otherSentences: number;
  /** Sentences accepted without a checksum. */
  noChecksum: number;
  /** Checksum missing where required, malformed or wrong. */
  checksumErrors: number;
  /** Lines that are not sentences, or sentences with malformed fields. */
  badSentences: number;
  /** Lines with non-printable bytes, and lines too long to be NMEA. */
  garbageLines: number;
  overlongLines: number;
  /** Characters skipped before a `$` that did not start its line. */
  skippedPrefixes: number;
  fixes: number;
  lateSentences: number;
}

export interface NmeaDecoderOptions {
  readonly onFix: (fix: GnssFix) => void;
  /** Called for each rejected line (not for garbage or overlong lines, which are only counted). */
  readonly onProblem?: (problem: NmeaLineProblem) => void;
  /** Called with each parsed sentence, before it is assembled (for tools that show sentences). */
  readonly onSentence?: (sentence: NmeaSentence) => void;
  /** Skip lines that start with `#` (comments in gpsd's and gpsfake's log files). */
  readonly allowComments?: boolean;
  readonly requireChecksum?: boolean;
  readonly maxLineBytes?: number;
  readonly clock?: GnssClock;
}

export class NmeaDecoder {
  readonly #framer: LineFramer;
  readonly #assembler: FixAssembler;
  readonly #counts = {
    lines: 0,
    sentences: 0,
    otherSentences: 0,
    noChecksum: 0,
    checksumErrors: 0,
    badSentences: 0,
    skippedPrefixes: 0,
  };
  readonly #onLine: (line: string) => void;

  readonly #options: NmeaDecoderOptions;

  constructor(options: NmeaDecoderOptions) {
    this.#options = options;
    this.#framer = new LineFramer(
      options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes },
    );
    this.#assembler = new FixAssembler({
      onFix: options.onFix,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    this.#onLine = (line) => this.pushLine(line);
  }

  /** Feeds raw bytes from a port or a file. */
  push(chunk: Uint8Array): void {
    this.#framer.push(chunk, this.#onLine);
  }

  /** Feeds one line without its line ending (framing already done, e.g. by readline). */
  pushLine(line: string): void {
    const n = ++this.#counts.lines;
    if (line.length === 0) return;
    let text = line;
    const c = text.charCodeAt(0);
    if (c !== 36 && c !== 33) {
      if (c === 35 && this.#options.allowComments) return;
      // A stream opened mid-sentence, or noise before a sentence: resynchronise on '$'.
      const k = text.indexOf('$');
      if (k > 0) {
        this.#counts.skippedPrefixes++;
        text = text.slice(k);
      }
    }
    const r = parseNmeaSentence(text, this.#options.requireChecksum ?? false);
    if (!r.ok) {
      const p = r.problem;
      if (p.code === 'BAD_CHECKSUM' || p.code === 'CHECKSUM_MISMATCH') this.#counts.checksumErrors++;
      else this.#counts.badSentences++;
      this.#options.onProblem?.({ ...p, line: n, text: line.slice(0, 100) });
      return;
    }
    this.#counts.sentences++;
    if (!r.hasChecksum) this.#counts.noChecksum++;
    if (r.sentence.type === 'other') this.#counts.otherSentences++;
    this.#options.onSentence?.(r.sentence);
    this.#assembler.push(r.sentence);
  }

  /** End of input, or the receiver went quiet: emits the open epoch and a final unterminated line. */
  flush(): void {
    this.#framer.end(this.#onLine);
    this.#assembler.flush();
  }

  /**
   * The receiver went quiet or away: emits the open epoch but keeps a partial line pending (a live
   * stream's half line is not a sentence; `reset` drops it when the port is reopened).
   */
  flushEpoch(): void {
    this.#assembler.flush();
  }

  /** The port was reopened: drop the partial line and epoch. Counters are kept. */
  reset(): void {
    this.#framer.reset();
    this.#assembler.reset();
  }

  /** The sentence the assembler learned closes an epoch. */
  get ender(): string | undefined {
    return this.#assembler.ender;
  }

  stats(): NmeaDecoderStats {
    const f = this.#framer.stats;
    const a = this.#assembler.stats;
    return {
      bytes: f.bytes,
      ...this.#counts,
      garbageLines: f.garbageLines,
      overlongLines: f.overlongLines,
      fixes: a.fixes,
      lateSentences: a.lateSentences,
    };
  }
}
