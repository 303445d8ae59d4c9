/**
 * One NMEA 0183 sentence as text: `$TTSSS,f1,f2,...*HH`. Checks the start character, the address
 * field (a two-letter talker and a three-letter type, or `P` + a maker's id for proprietary
 * sentences) and the XOR checksum (NMEA 0183 4.11 section 5.2.1), and splits the fields. Nothing here
 * throws on outside data: a bad sentence is a result that says what, where and what was expected.
 */

/** Why a line is not a usable sentence. */
export type NmeaProblemCode =
  | 'NO_START'
  | 'BAD_ADDRESS'
  | 'BAD_CHECKSUM'
  | 'CHECKSUM_MISMATCH'
  | 'TOO_FEW_FIELDS'
  | 'BAD_FIELD';

/** A rejected sentence: the code, a message naming the field and what was expected, and the column. */
export interface NmeaProblem {
  readonly code: NmeaProblemCode;
  readonly message: string;
  /** 1-based column in the line where the problem is. */
  readonly column: number;
}

/** A sentence whose frame and checksum are valid. */
export interface NmeaFrame {
  /** `GP`, `GN`, `GL`, `GA`, `GB`, `GQ`, `BD`, `GI` ...; `P` for proprietary sentences. */
  readonly talker: string;
  /** `GGA`, `RMC` ...; for proprietary sentences the rest of the address (`ASHR`, `UBX`). */
  readonly type: string;
  /** Fields after the address, without the checksum. */
  readonly fields: readonly string[];
  /** False when the sentence carried no `*HH` (allowed by the standard for some sentences). */
  readonly hasChecksum: boolean;
}

export type FrameResult =
  | { readonly ok: true; readonly frame: NmeaFrame }
  | { readonly ok: false; readonly problem: NmeaProblem };

const HEX = '0123456789ABCDEF';

/** XOR of the characters between `$` (exclusive) and `*` (exclusive), as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return HEX[x >> 4]! + HEX[x & 15]!;
}

/** `$` + body + `*HH`: a complete sentence (without line ending) for `body` such as `GPGGA,...`. */
export function withChecksum(body: string): string {
  return `$${body}*${nmeaChecksum(body)}`;
}

const isUpper = (c: number) => c >= 65 && c <= 90;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** `GPGGA`: a letter, a letter or digit, three letters. */
function isStandardAddress(a: string): boolean {
  if (a.length !== 5) return false;
  const c1 = a.charCodeAt(1);
  return (
    isUpper(a.charCodeAt(0)) &&
    (isUpper(c1) || isDigit(c1)) &&
    isUpper(a.charCodeAt(2)) &&
    isUpper(a.charCodeAt(3)) &&
    isUpper(a.charCodeAt(4))
  );
}

/** `PASHR`, `PUBX`: P and upper-case letters or digits. */
function isProprietary(a: string): boolean {
  if (a.length < 2 || a.charCodeAt(0) !== 80) return false;
  for (let i = 1; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (!isUpper(c) && !isDigit(c)) return false;
  }
  return true;
}

const fail = (code: NmeaProblemCode, column: number, message: string): FrameResult => ({
  ok: false,
  problem: { code, column, message },
});

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Checks and splits one line (line ending already removed). `requireChecksum` rejects sentences
 * without `*HH`; by default they are accepted and flagged `hasChecksum: false`.
 */
export function parseNmeaFrame(line: string, requireChecksum = false): FrameResult {
  const start = line.charCodeAt(0);
  if (start !== 36 /* $ */ && start !== 33 /* ! */)
    return fail('NO_START', 1, `expected '$' or '!' to start a sentence, found '${line.slice(0, 1)}'`);
  const star = line.lastIndexOf('*');
  let body: string;
  let hasChecksum = false;
  if (star >= 0) {
    const h1 = hexValue(line.charCodeAt(star + 1));
    const h2 = hexValue(line.charCodeAt(star + 2));
    if (star + 3 !== line.length || h1 < 0 || h2 < 0)
      return fail(
        'BAD_CHECKSUM',
        star + 1,
        `expected two hex digits after '*' at the end, found '${line.slice(star, star + 6)}'`,
      );
    body = line.slice(1, star);
    let x = 0;
    for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
    if (x !== h1 * 16 + h2)
      return fail(
        'CHECKSUM_MISMATCH',
        star + 1,
        `checksum *${line.slice(star + 1, star + 3).toUpperCase()} does not match the sentence (computed *${HEX[x >> 4]}${HEX[x & 15]})`,
      );
    hasChecksum = true;
  } else {
    if (requireChecksum) return fail('BAD_CHECKSUM', line.length, "expected a '*HH' checksum at the end");
    body = line.slice(1);
  }
  const comma = body.indexOf(',');
  const address = comma < 0 ? body : body.slice(0, comma);
  let talker: string;
  let type: string;
  if (isProprietary(address)) {
    talker = 'P';
    type = address.slice(1);
  } else if (isStandardAddress(address)) {
    talker = address.slice(0, 2);
    type = address.slice(2);
  } else
    return fail(
      'BAD_ADDRESS',
      2,
      `expected an address of a 2-letter talker and a 3-letter type (GPGGA), found '${address.slice(0, 12)}'`,
    );
  const fields = comma < 0 ? [] : body.slice(comma + 1).split(',');
  return { ok: true, frame: { talker, type, fields, hasChecksum } };
}
