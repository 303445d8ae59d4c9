/** Small zod building blocks shared by the config sections. */
import { z } from 'zod';

import { LOG_LEVELS } from '../../process/index.js';

export { LOG_LEVELS, type LogLevel } from '../../process/index.js';
/** A log level field. */
export const logLevel = z.enum(LOG_LEVELS);

/** An absolute or config-relative file path. */
export const filePath = z.string().min(1, 'a non-empty file path');

/** `host:port` with a port in 1..65535. */
export const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'host:port, such as localhost:2947')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'a port between 1 and 65535');

/** An identifier usable in an MQTT topic level and a file name. */
export const topicSafeId = z
  .string()
  .regex(
    /^[A-Za-z0-9._-]{1,64}$/,
    '1 to 64 letters, digits, dot, underscore or dash (it is used in MQTT topics)',
  );
