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
    /** MQTT 5 (session expiry kept for a week) or 3.1.1 for brokers that speak only that. */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
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
     * The key that signs the acks devices delete on (an ed25519 secret as 64 hex digits); default:
     * the chain role's `keyFile`. Devices list its public key in their `sync.nodeKeys`.
     */
    keyFile: z.string().min(1).optional(),
    /**
     * An override of the chain's device bindings, for tests and nodes without a chain role: device
     * public keys (ed25519, 64 hex digits) by vehicle id. A vehicle listed here is served with this
     * key only, whatever is bound on chain; every other vehicle is served with the device keys its
     * owner bound on chain (`bindDevice`, read from the final state; ingest/device-keys.ts).
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

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port such as 127.0.0.1:26601')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'a port of at most 65535');

/** The chain role: take part in consensus, keep the chain, serve the HTTP API. */
export const chainConfigSchema = z
  .object({
    /** The node key: an ed25519 secret as 64 hex digits (its producer key when it is scheduled). */
    keyFile: z.string().min(1),
    /** The genesis file every node of the chain shares (node/runtime/genesis-file.ts). */
    genesisFile: z.string().min(1),
    /** Consensus parameters: `minimal` (4 producers, fast tests) or `mainnet` (21). */
    preset: z.enum(['minimal', 'mainnet']).default('mainnet'),
    /** Where peers connect (TCP). Without it the node only dials. */
    listen: hostPort.optional(),
    /** Peers to keep a connection to. */
    peers: z.array(hostPort).max(64).default([]),
    /**
     * Connection budgets (node/p2p/network.ts); configured peers and the scheduled producers are
     * admitted past them. Omitted fields keep their defaults.
     */
    p2p: z
      .object({
        /** Established peers that are neither configured nor scheduled producers (default 64). */
        maxPeers: z.number().int().min(0).max(10_000).optional(),
        /** Inbound connections still in their handshake (default 8). */
        maxHandshakes: z.number().int().min(1).max(1000).optional(),
        /** Of them, from one IP address (default 2). */
        maxHandshakesPerAddress: z.number().int().min(1).max(1000).optional(),
        /** Inbound connections from one IP address (default 8). */
        maxPerAddress: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    /** Where the HTTP JSON API listens; without it there is no API. */
    http: hostPort.optional(),
    /** Transactions the mempool holds. */
    maxMempool: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Worker threads that verify the signatures of large peer blocks and sync ranges (0: none, the
     * default). Worth it on a machine with idle cores; on one whose cores are busy it only adds a hop.
     */
    verifyWorkers: z.number().int().min(0).max(64).default(0),
    /** Database of the chain (default `<node.dataDir>/chain.db`). */
    path: z.string().min(1).optional(),
  })
  .strict();

export type ChainConfig = z.infer<typeof chainConfigSchema>;

/** `host:port` split. */
export function splitHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
}

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
    /** The chain role (consensus, peers, HTTP API) runs when this section is present. */
    chain: chainConfigSchema.optional(),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeConfigSchema>;
