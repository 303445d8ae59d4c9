/**
 * The ingest role of a node (its config's `ingest` section): takes devices' chunks, descriptors and
 * queued transactions from the TSP's broker, verifies them against the device keys bound to their
 * vehicles (on chain, or in the static `deviceKeys` override; ingest/device-keys.ts), stores them
 * in the ingest database and acknowledges them, signing each ack with the node's key
 * (`ingest.keyFile`, else the chain role's `keyFile`). Devices delete what they queued only on
 * acks that key signed, so the role does not start without one.
 */
import { join } from 'node:path';
import { toHex } from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { IngestConfig } from '../config.js';
import {
  ChunkIngest,
  DeviceRegistry,
  deviceVerifiers,
  INGEST_COUNTERS,
  type IngestLink,
  IngestStore,
  openMqttIngestLink,
} from '../ingest/index.js';
import { KeyFileError, readKeyFile } from '../runtime/local-genesis.js';
import { NodeStartError } from './node-start-error.js';

/** A started ingest role; the device link shares its broker connection and database. */
export interface IngestRole {
  readonly link: IngestLink;
  readonly store: IngestStore;
  /**
   * The device keys the ingest serves: the static `deviceKeys` override, then, once the chain role
   * is attached (`devices.attachChain`), the bindings of the chain's final state.
   */
  readonly devices: DeviceRegistry;
  /** Stops taking messages, then closes the broker connection and the database. */
  stop(): Promise<void>;
}

/** Starts the ingest role; a database that does not open is a `failure` (NodeStartError). */
export function startIngestRole(o: {
  config: IngestConfig;
  /** Where the ingest database is by default (`<dataDir>/ingest.db`). */
  dataDir: string;
  /** The chain role's key file: signs the acks when the ingest section names none. */
  chainKeyFile?: string | undefined;
  logger: Logger;
  metrics: Metrics;
}): IngestRole {
  const cfg = o.config;
  const ackSigner = readAckKey(cfg.keyFile ?? o.chainKeyFile);
  const path = cfg.path ?? join(o.dataDir, 'ingest.db');
  let store: IngestStore;
  try {
    store = new IngestStore({ path });
  } catch (err) {
    // A missing or unwritable data folder may be fixed by an operator: exit 1, systemd retries.
    throw new NodeStartError({
      code: 'failure',
      role: 'ingest',
      message: (err as Error).message,
      file: path,
      cause: err,
    });
  }
  let link: IngestLink;
  try {
    link = openMqttIngestLink({
      url: cfg.broker,
      clientId: cfg.clientId,
      protocolVersion: cfg.protocolVersion,
      ...(cfg.username === undefined ? {} : { username: cfg.username }),
      ...(cfg.password === undefined ? {} : { password: cfg.password }),
      ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
    });
  } catch (err) {
    store.close();
    throw err;
  }
  o.metrics.declare(...INGEST_COUNTERS);
  const devices = new DeviceRegistry({ staticKeys: cfg.deviceKeys });
  // Order notices need the config id of a chain vehicle id; vehicles whose descriptors are held
  // here are the ones an order can name, so a restart keeps announcing to them.
  for (const v of store.descriptorVehicles()) devices.learn(v);
  const ingest = new ChunkIngest({
    link,
    store,
    ...deviceVerifiers(devices),
    ackSigner,
    logger: o.logger.child({ role: 'ingest' }),
    topicPrefix: cfg.topicPrefix,
    onCount: (name, by) => o.metrics.inc(name, by),
  });
  ingest.start();
  o.logger.info(
    {
      broker: cfg.broker,
      path,
      staticVehicles: Object.keys(cfg.deviceKeys).length,
      ackKey: toHex(ackSigner.publicKey),
    },
    'ingest role started; devices list ackKey in their sync.nodeKeys',
  );
  return {
    link,
    store,
    devices,
    stop: async () => {
      ingest.stop();
      await link.close();
      store.close();
    },
  };
}

/** The key that signs acks; a missing or unreadable key file is the config's fault (`usage`). */
function readAckKey(file: string | undefined) {
  if (file === undefined)
    throw new NodeStartError({
      code: 'usage',
      role: 'ingest',
      message:
        'acks must be signed: set ingest.keyFile (or add a chain section with its keyFile); devices list its public key in sync.nodeKeys',
    });
  try {
    return readKeyFile(file);
  } catch (err) {
    if (err instanceof KeyFileError)
      throw new NodeStartError({ code: 'usage', role: 'ingest', message: err.message, file, cause: err });
    throw err;
  }
}
