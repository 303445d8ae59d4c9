/**
 * Finds the USB serial adapters a device kind needs in `/dev/serial/by-id/` (under the target
 * root): ELM327 OBD-II dongles are built on FTDI, CH340/CH341, CP210x or PL2303 bridges, GNSS
 * receivers are u-blox (or say GPS/GNSS in their name). The config gets the by-id path: it names the
 * adapter itself, where `/dev/ttyUSB0` names whichever adapter the kernel enumerated first.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What an adapter is used for. */
export type AdapterRole = 'obd' | 'gnss';

/** One adapter found in the by-id folder. */
export interface FoundAdapter {
  readonly role: AdapterRole;
  /** Path as the device sees it (without the target root): `/dev/serial/by-id/usb-FTDI_...`. */
  readonly path: string;
  /** The chip or maker recognised in the name, for messages. */
  readonly chip: string;
}

/** Where udev puts the stable names of serial devices. */
export const BY_ID_DIR = '/dev/serial/by-id';

// Names udev builds from the USB vendor and product strings (or ids when the strings are empty).
// GNSS first: a u-blox name never matches the bridges, but a "GPS" PL2303 must count as GNSS.
const PATTERNS: readonly { role: AdapterRole; chip: string; re: RegExp }[] = [
  { role: 'gnss', chip: 'u-blox', re: /u-blox|ublox|_1546_/i },
  { role: 'gnss', chip: 'GNSS receiver', re: /gnss|gps/i },
  { role: 'obd', chip: 'FTDI', re: /ftdi|_0403_/i },
  { role: 'obd', chip: 'CH340', re: /1a86|ch34[01]|qinheng/i },
  { role: 'obd', chip: 'CP210x', re: /silicon_labs|cp210|_10c4_/i },
  { role: 'obd', chip: 'PL2303', re: /prolific|pl2303|_067b_/i },
];

/** Classifies one by-id name; undefined for a device that is not a known adapter. */
export function classifyById(name: string): { role: AdapterRole; chip: string } | undefined {
  for (const p of PATTERNS) if (p.re.test(name)) return { role: p.role, chip: p.chip };
  return undefined;
}

/**
 * The known adapters under `root`'s by-id folder, sorted by name so two runs pick the same one.
 * A missing folder (no USB serial device plugged in) is no adapter, not an error.
 */
export function findAdapters(root: string): FoundAdapter[] {
  let names: string[];
  try {
    names = readdirSync(join(root, BY_ID_DIR)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: FoundAdapter[] = [];
  for (const name of names) {
    const c = classifyById(name);
    if (c !== undefined) out.push({ ...c, path: `${BY_ID_DIR}/${name}` });
  }
  return out;
}
