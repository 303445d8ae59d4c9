/**
 * The process logger: pino writing JSON lines to stdout, one object per event, which journald
 * stores as the message and `journalctl -o cat` prints as is. The only file that imports pino.
 */
import { pino } from 'pino';
import type { Logger } from './log.js';
import type { LogLevel } from './log-levels.js';

/** A logger at `level` named after the process role (`agent`, `node`, `demo`). */
export function createLogger(level: LogLevel, name: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
