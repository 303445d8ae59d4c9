/**
 * What every long-running process (`qood agent`, `qood node`, the demo) shares: durable file writes
 * (atomic-file.ts), the logger and its
 * levels, counters and gauges, the service manager's notifications (sd_notify), signals, the SQLite
 * file adapter (WAL, durability, integrity check, schema migrations) both stores open files with, and the
 * local unix-socket API with its client. Imports nothing else of QoodBlock's.
 */
export * from './atomic-file.js';
export * from './local-api/client.js';
export * from './local-api/server.js';
export * from './log.js';
export * from './log-levels.js';
export * from './logger.js';
export * from './metrics.js';
export * from './sd-notify.js';
export * from './service.js';
export * from './signals.js';
export * from './sqlite-file.js';
