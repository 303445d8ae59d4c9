/**
 * SAE J1979 / ISO 15031-5 message layouts the service logic needs, as pure functions over the
 * response bytes: the supported-PID bitmaps of service 01 (PIDs 00, 20, 40 ...), trouble codes of
 * services 03/07/0A (two bytes each -> `P0301`), and the VIN of service 09 PID 02, in both its CAN
 * form (one message, count byte then 17 characters) and its legacy form (five messages of four
 * bytes, each with a sequence number). Physical values of PIDs are decoded by the agent, not here.
 */

/** The PIDs a supported-PIDs reply (`41 00 BE 1F A8 13`) announces: bit 7 of A is PID base+1. */
export function supportedFromBitmap(base: number, bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) {
    const byte = bitmap[i >> 3] ?? 0;
    if (byte & (0x80 >> (i & 7))) out.push(base + i + 1);
  }
  return out;
}

const DTC_LETTERS = ['P', 'C', 'B', 'U'] as const;

/** Two DTC bytes as the five-character code (J2012): `01 33` -> `P0133`, `C1 23` -> `U0123`. */
export function formatDtc(a: number, b: number): string {
  const letter = DTC_LETTERS[a >> 6]!;
  const digit = (a >> 4) & 0x03;
  const rest = (((a & 0x0f) << 8) | b).toString(16).toUpperCase().padStart(3, '0');
  return `${letter}${digit}${rest}`;
}

/** A DTC code back to its two bytes (for emulators); throws RangeError on a malformed code. */
export function parseDtc(code: string): [number, number] {
  const m = /^([PCBU])([0-3])([0-9A-Fa-f]{3})$/.exec(code);
  if (!m) throw new RangeError(`DTC '${code}': expected a letter P/C/B/U, a digit 0-3 and three hex digits`);
  const hi = (DTC_LETTERS.indexOf(m[1] as 'P') << 6) | (Number(m[2]) << 4);
  const n = Number.parseInt(m[3]!, 16);
  return [hi | (n >> 8), n & 0xff];
}

/**
 * Trouble codes in one service 03/07/0A response (service byte first). CAN (ISO 15765-4) puts a
 * count byte after the service and has an even length; legacy protocols send three code slots per
 * message, padded with 00 00, and have an odd length. `00 00` slots are padding, not codes.
 */
export function dtcsFromResponse(data: Uint8Array): string[] {
  const canForm = data.length % 2 === 0 && data.length >= 2;
  const start = canForm ? 2 : 1;
  const out: string[] = [];
  for (let i = start; i + 1 < data.length; i += 2) {
    const a = data[i]!;
    const b = data[i + 1]!;
    if (a === 0 && b === 0) continue;
    out.push(formatDtc(a, b));
  }
  return out;
}

/**
 * The VIN from the service 09 PID 02 messages of one ECU, in arrival order. CAN: `49 02 01` then 17
 * characters. Legacy: five `49 02 NN d d d d` messages; their data joined is 20 bytes with three
 * leading zero pad bytes. Returns undefined when the bytes are no printable 17-character VIN.
 */
export function vinFromResponses(messages: readonly Uint8Array[]): string | undefined {
  let bytes: number[] = [];
  const legacy = messages.length > 1 && messages.every((m) => m.length === 7);
  if (legacy) {
    const sorted = [...messages].sort((x, y) => x[2]! - y[2]!);
    for (const m of sorted) bytes.push(...m.subarray(3));
  } else {
    const m = messages[0];
    if (m === undefined || m.length < 3) return undefined;
    bytes = [...m.subarray(3)];
  }
  const text = String.fromCharCode(...bytes.filter((b) => b !== 0)).trim();
  // ISO 3779 excludes I, O and Q, but pre-1981 cars and test benches use them: accept any 17
  // letters and digits, reject binary junk.
  return /^[A-Z0-9]{17}$/i.test(text) ? text : undefined;
}
