/**
 * The ingest role of a node (its config's `ingest` section): takes devices' chunks, descriptors and
 * queued transactions from the TSP's broker, verifies them against the devices' keys, stores them
 * in the ingest database and acknowledges them.
 */
import { join } from 'node:path';
import type { Logger, Metrics } from '../../process/index.js';
import type { IngestConfig } from '../config.js';
import {
  ChunkIngest,
  INGEST_COUNTERS,
  type IngestLink,
  IngestStore,
  openMqttIngestLink,
  sealedChunkVerifier,
  sealedDescriptorVerifier,
} from '../ingest/index.js';
import { NodeStartError } from './node-start-error.js';

/** A started ingest role; the device link shares its broker connection and database. */
export interface IngestRole {
  readonly link: IngestLink;
  readonly store: IngestStore;
  /** Stops taking messages, then closes the broker connection and the database. */
  stop(): Promise<void>;
}

/** Starts the ingest role; a database that does not open is a `failure` (NodeStartError). */
export function startIngestRole(o: {
  config: IngestConfig;
  /** Where the ingest database is by default (`<dataDir>/ingest.db`). */
  dataDir: string;
  logger: Logger;
  metrics: Metrics;
}): IngestRole {
  const cfg = o.config;
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
  const ingest = new ChunkIngest({
    link,
    store,
    verifyChunk: sealedChunkVerifier(cfg.deviceKeys),
    verifyDescriptor: sealedDescriptorVerifier(cfg.deviceKeys),
    logger: o.logger.child({ role: 'ingest' }),
    topicPrefix: cfg.topicPrefix,
    onCount: (name, by) => o.metrics.inc(name, by),
  });
  ingest.start();
  o.logger.info(
    { broker: cfg.broker, path, vehicles: Object.keys(cfg.deviceKeys).length },
    'ingest role started',
  );
  return {
    link,
    store,
    stop: async () => {
      ingest.stop();
      await link.close();
      store.close();
    },
  };
}
