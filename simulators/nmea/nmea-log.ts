/**
 * NMEA log files as a receiver sent them (gpsd's test captures, GENIVI drive logs, `cat /dev/ttyACM0`
 * output): one sentence per line, `#` comments. For replay, lines are grouped into epochs by the UTC
 * time of day their sentences carry, so a replay can keep the receiver's original pacing.
 */
import { parseNmeaSentence } from '../../firmware-bridge/index.js';

/** The lines of one receiver epoch and when it started (ms of the day, when any sentence said). */
export interface LogEpoch {
  readonly timeOfDayMs?: number;
  readonly lines: readonly string[];
}

/** Splits a log into epochs. Comment and blank lines are dropped; every other line is kept as is. */
export function readNmeaLog(text: string): LogEpoch[] {
  const epochs: { timeOfDayMs?: number; lines: string[] }[] = [];
  let current: { timeOfDayMs?: number; lines: string[] } = { lines: [] };
  for (const raw of text.split(/\r\n|\n|\r/)) {
    if (raw === '' || raw.startsWith('#')) continue;
    const r = parseNmeaSentence(raw);
    const t = r.ok && 'timeOfDayMs' in r.sentence ? r.sentence.timeOfDayMs : undefined;
    if (t !== undefined && current.timeOfDayMs !== undefined && t !== current.timeOfDayMs) {
      epochs.push(current);
      current = { lines: [] };
    }
    if (t !== undefined) current.timeOfDayMs = t;
    current.lines.push(raw);
  }
  if (current.lines.length > 0) epochs.push(current);
  return epochs;
}

/**
 * Wait in ms before epoch `i` (from the time of day of the previous one), divided by `speed`. Gaps
 * longer than `maxGapMs` (a receiver that lost power, midnight) are cut to one second.
 */
export function epochGapMs(epochs: readonly LogEpoch[], i: number, speed: number, maxGapMs = 10_000): number {
  if (i === 0 || speed <= 0) return 0;
  const a = epochs[i - 1]?.timeOfDayMs;
  const b = epochs[i]?.timeOfDayMs;
  if (a === undefined || b === undefined) return 1000 / speed;
  const gap = b - a;
  return (gap > 0 && gap <= maxGapMs ? gap : 1000) / speed;
}
