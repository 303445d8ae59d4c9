/**
 * Config sections for the chunk store (`storage`) and its sync to the TSP's broker (`sync`). Both
 * are optional: an agent without them collects and serves live values only.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { filePath } from './common.js';

/** `mqtt://`, `mqtts://`, `ws://` or `wss://` with a host. */
export const brokerUrl = z
  .string()
  .regex(/^(mqtts?|wss?):\/\/[^\s/]+/, 'a broker URL such as mqtts://broker.example.com:8883');

/** Topic levels without wildcards or empty levels, such as `qood/v1`. */
export const topicPrefix = z
  .string()
  .regex(/^[^#+/\s]+(\/[^#+/\s]+)*$/, "topic levels without '+', '#' or empty levels, such as qood/v1");

/** TLS material as PEM files; a client certificate needs its key. */
export const tlsFilesSchema = z
  .object({
    /** CA bundle that signs the broker's certificate (default: the system's CAs). */
    caFile: filePath.optional(),
    /** Client certificate, for brokers that authenticate devices by certificate. */
    certFile: filePath.optional(),
    keyFile: filePath.optional(),
    /** Check the broker's certificate; false only for a lab broker. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.certFile === undefined) !== (v.keyFile === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [v.certFile === undefined ? 'certFile' : 'keyFile'],
        message: 'certFile and keyFile together (a client certificate needs its key)',
      });
  });

export const storageSchema = z
  .object({
    /** Database file (default `<device.dataDir>/agent.db`). */
    path: filePath.optional(),
    /** Most bytes of sealed chunks kept; past it the least important, oldest chunks are evicted. */
    quotaBytes: z
      .number()
      .int()
      .min(1024 * 1024, 'at least 1048576 (1 MiB)')
      .default(256 * 1024 * 1024),
    /** `full` survives power loss at every commit; `normal` only a crash (see the README). */
    synchronous: z.enum(['full', 'normal']).default('full'),
  })
  .strict();

export const syncSchema = z
  .object({
    /** The TSP's MQTT broker. */
    broker: brokerUrl,
    topicPrefix: topicPrefix.default('qood/v1'),
    /** MQTT 5 (default) or 3.1.1 (4). */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    tls: tlsFilesSchema.optional(),
    /** Chunks published and awaiting their acknowledgement, at most. */
    maxInFlight: z.number().int().min(1).max(1024).default(32),
    /** Publish a chunk again when its acknowledgement has not come after this long, ms. */
    ackTimeoutMs: z.number().int().min(100).default(30_000),
    /**
     * Public keys (ed25519, 64 hex digits) of the TSP's storage nodes: the device deletes a chunk,
     * descriptor or queued transaction only on an ack one of them signed (anyone on the broker can
     * publish on the ack topics). The node logs its key at start (`ackKey`). Empty (the default):
     * nothing is deleted on acks, and the store fills up to its quota.
     */
    nodeKeys: z
      .array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'an ed25519 public key as 64 hex digits'))
      .max(16)
      .default([]),
    /** How long the broker keeps the session (and acks) while the device is away, s (MQTT 5). */
    sessionExpirySec: z
      .number()
      .int()
      .min(0)
      .default(7 * 86_400),
  })
  .strict();

export type StorageConfig = z.infer<typeof storageSchema>;
export type SyncConfig = z.infer<typeof syncSchema>;

/** The store file: `storage.path`, or `agent.db` in the data folder. */
export function storagePath(config: {
  device: { dataDir: string };
  storage?: { path?: string | undefined } | undefined;
}): string {
  return config.storage?.path ?? join(config.device.dataDir, 'agent.db');
}
