/**
 * The full node's configuration file (`/etc/qood/node.yaml`). Sections are added with the roles the
 * node takes on; unknown fields are errors.
 */
import { z } from 'zod';

export const NODE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** The ingest role: take devices' chunks from the TSP's broker, store them, acknowledge them. */
export const ingestConfigSchema = z
  .object({
    /** The TSP's MQTT broker the devices publish to. */
    broker: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^\s/]+/, 'a broker URL such as mqtts://broker.example.com:8883'),
    /** MQTT client id of this node (its persistent session at the broker). */
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits, dot, underscore or dash')
      .default('qood-node'),
    topicPrefix: z
      .string()
      .regex(/^[^#+/\s]+(\/[^#+/\s]+)*$/, "topic levels without '+', '#' or empty levels, such as qood/v1")
      .default('qood/v1'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    tls: z
      .object({
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Database of received chunks (default `<node.dataDir>/ingest.db`). */
    path: z.string().min(1).optional(),
    /**
     * Device public keys (ed25519, 64 hex digits) by vehicle id, for the sealed chunk
     * format; chunks of vehicles not listed are rejected.
     */
    deviceKeys: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a vehicle id (1 to 64 letters, digits, dot, underscore or dash)'),
        z.string().regex(/^[0-9a-fA-F]{64}$/, 'an ed25519 public key as 64 hex digits'),
      )
      .default({}),
  })
  .strict();

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

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
    /** The ingest role runs when this section is present. */
    ingest: ingestConfigSchema.optional(),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeConfigSchema>;
