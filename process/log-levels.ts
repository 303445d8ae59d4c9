/** Log levels accepted everywhere a level is named (config, `--log-level`); free of zod so the CLI can check a flag cheaply. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
