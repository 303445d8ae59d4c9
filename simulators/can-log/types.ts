/** Shared types of the CAN log readers. */
import type { CanFrame } from '../../firmware-bridge/index.js';

export type CanLogFormat = 'candump' | 'candump-screen' | 'asc' | 'trc';

/** A line a lenient read skipped, with why. */
export interface CanLogProblem {
  readonly line: number;
  readonly message: string;
  readonly text: string;
}

export interface CanLogResult {
  readonly format: CanLogFormat;
  readonly frames: CanFrame[];
  /** Error frames and bus events the log recorded (counted, not decoded). */
  readonly errorFrames: number;
  readonly problems: CanLogProblem[];
}

export type CanLogErrorCode = 'BAD_LINE' | 'UNKNOWN_FORMAT';

/** A line a strict read cannot take: names the file, line, what was found and what was expected. */
export class CanLogError extends Error {
  constructor(
    readonly code: CanLogErrorCode,
    readonly file: string,
    readonly line: number,
    readonly expected: string,
    readonly text: string,
  ) {
    super(
      `${file}:${line}: expected ${expected}; found '${text.length > 80 ? `${text.slice(0, 77)}...` : text}'`,
    );
    this.name = 'CanLogError';
  }
}

/** What a per-format line parser returns for one line. */
export type LineResult =
  | { readonly kind: 'frame'; readonly frame: CanFrame }
  | { readonly kind: 'error-frame' }
  | { readonly kind: 'skip' }
  | { readonly kind: 'bad'; readonly expected: string };

/**
 * A frame time as microseconds when it is a safe integer, else undefined. Every reader checks its
 * times with it, so a timestamp of 400 digits, an offset of 1e303 s or a header that is not a number
 * is a bad line naming what was expected, never a frame at NaN or Infinity (which the CLI's JSON
 * lines would print as `"t":NaN`, not JSON). 2^53 us is 285 years either side of the epoch.
 */
export function safeUs(us: number): number | undefined {
  return Number.isSafeInteger(us) ? us : undefined;
}

/** Parses `"11 22 33"` or `"112233"` into bytes; undefined when not hex. */
export function parseHexBytes(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(compact)) return undefined;
  const out = new Uint8Array(compact.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(compact.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** CAN FD data length codes 9..15 as byte counts. */
export const FD_DLC_BYTES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64] as const;
