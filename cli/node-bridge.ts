/**
 * The device bridge of `qood node`, run when the config has both an `ingest` and a `chain`
 * section: finality updates go out on the ingest's broker connection, and queued device
 * transactions from the ingest database into the chain role's mempool. Loaded lazily by
 * cli/commands/node.ts.
 */

import type { Logger } from '../agent/log.js';
import type { Metrics } from '../agent/metrics.js';
import { BRIDGE_COUNTERS, DeviceBridge } from '../chain/node/bridge/index.js';
import type { IngestLink, IngestStore } from '../chain/node/ingest/index.js';
import type { FullNode } from '../chain/node/runtime/index.js';

/** A started bridge. */
export interface BridgeRole {
  status(): unknown;
  stop(): void;
}

export function startBridgeRole(o: {
  link: IngestLink;
  store: IngestStore;
  node: FullNode;
  prefix: string;
  /** The vehicles whose devices this node serves (the ingest's device keys). */
  vehicleIds: readonly string[];
  logger: Logger;
  metrics: Metrics;
}): BridgeRole {
  o.metrics.declare(...BRIDGE_COUNTERS);
  const logger = o.logger.child({ role: 'bridge' });
  const bridge = new DeviceBridge({
    link: o.link,
    node: o.node,
    ingestStore: o.store,
    logger,
    topicPrefix: o.prefix,
    orders: { vehicleIds: o.vehicleIds, store: o.store },
    onCount: (name, by) => o.metrics.inc(name, by),
  });
  bridge.start();
  logger.info({ topic: `${o.prefix}/chain/finality` }, 'device bridge started');
  return { status: () => bridge.status(), stop: () => bridge.stop() };
}
