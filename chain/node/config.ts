/**
 * The full node's configuration file (`/etc/qood/node.yaml`). Sections are added with the roles the
 * node takes on; unknown fields are errors.
 */
import { z } from 'zod';

export const NODE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const nodeConfigSchema = z
  .object({
    node: z
      .object({
        /** Where the chain database and stored chunks live. */
        dataDir: z.string().min(1).default('/var/lib/qood-node'),
        /** Local status socket for `qood status`. */
        socketPath: z.string().min(1).default('/run/qood/node.sock'),
      })
      .strict(),
    log: z
      .object({ level: z.enum(NODE_LOG_LEVELS).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeConfigSchema>;
