/**
 * CAN log files in and out: `candump -l` logs and `candump` screen output (can-utils), Vector ASC
 * and PEAK TRC 1.x/2.x. A strict read stops at the first line it cannot take with a CanLogError
 * (file:line, what was expected); a lenient one counts and skips such lines and goes on.
 */
import type { CanFrame } from '../../firmware-bridge/index.js';
import { newAscState, parseAscLine } from './asc.js';
import { parseCandumpLogLine, parseCandumpScreenLine } from './candump.js';
import { newTrcState, parseTrcLine } from './trc.js';
import {
  CanLogError,
  type CanLogFormat,
  type CanLogProblem,
  type CanLogResult,
  type LineResult,
} from './types.js';

export { parseCandumpLogLine, parseCandumpScreenLine, writeCandumpLog } from './candump.js';
export {
  CanLogError,
  type CanLogErrorCode,
  type CanLogFormat,
  type CanLogProblem,
  type CanLogResult,
} from './types.js';

export interface ReadCanLogOptions {
  /** The format, or 'auto' (default) to detect it from the first lines. */
  readonly format?: CanLogFormat | 'auto';
  /** Count and skip lines that do not parse instead of throwing. */
  readonly lenient?: boolean;
  /** Names the log in errors. */
  readonly file?: string;
}

/** Guesses the format from the first meaningful lines; undefined when nothing matches. */
export function detectCanLogFormat(text: string): CanLogFormat | undefined {
  const head = text
    .slice(0, 4096)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (head.some((l) => /^;\$FILEVERSION=/.test(l)) || head.some((l) => /^\d+\)\s/.test(l))) return 'trc';
  if (head.some((l) => /^date\s/i.test(l) || /^base\s+(hex|dec)/i.test(l))) return 'asc';
  for (const l of head) {
    if (parseCandumpLogLine(l).kind === 'frame' || /^\(\d+\.\d+\)\s+\S+\s+[0-9A-Fa-f]+#/.test(l))
      return 'candump';
    if (parseCandumpScreenLine(l, 0).kind !== 'bad') return 'candump-screen';
  }
  return undefined;
}

/** Reads a whole log. */
export function readCanLog(text: string, options: ReadCanLogOptions = {}): CanLogResult {
  const file = options.file ?? '<log>';
  let format: CanLogFormat | undefined =
    options.format === undefined || options.format === 'auto' ? detectCanLogFormat(text) : options.format;
  if (format === undefined) {
    if (text.trim() === '') format = 'candump';
    else
      throw new CanLogError(
        'UNKNOWN_FORMAT',
        file,
        1,
        'a candump, ASC or TRC log',
        text.split('\n')[0] ?? '',
      );
  }
  const parse = lineParser(format);
  const frames: CanFrame[] = [];
  const problems: CanLogProblem[] = [];
  let errorFrames = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const r = parse(line, frames.length > 0 ? frames[frames.length - 1]!.wallUs : 0);
    if (r.kind === 'frame') frames.push(r.frame);
    else if (r.kind === 'error-frame') errorFrames++;
    else if (r.kind === 'bad') {
      if (!options.lenient) throw new CanLogError('BAD_LINE', file, i + 1, r.expected, line.trim());
      problems.push({ line: i + 1, message: `expected ${r.expected}`, text: line.trim() });
    }
  }
  return { format, frames, errorFrames, problems };
}

/** A per-line parser for a format, holding the header state ASC and TRC need. */
export function lineParser(format: CanLogFormat): (line: string, lastUs: number) => LineResult {
  switch (format) {
    case 'candump':
      return (line) => parseCandumpLogLine(line);
    case 'candump-screen':
      return (line, lastUs) => parseCandumpScreenLine(line, lastUs);
    case 'asc': {
      const state = newAscState();
      return (line) => parseAscLine(line, state);
    }
    case 'trc': {
      const state = newTrcState();
      return (line) => parseTrcLine(line, state);
    }
  }
}
