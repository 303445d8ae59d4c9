/**
 * The device link role of a node, run when its config has both an `ingest` and a `chain` section:
 * finality updates and order notices go out on the ingest's broker connection, and devices' queued
 * transactions go from the ingest database into the chain role's mempool.
 */
import type { Logger, Metrics } from '../../process/index.js';
import { DEVICE_LINK_COUNTERS, DeviceLink } from '../device-link/index.js';
import type { IngestLink, IngestStore } from '../ingest/index.js';
import type { FullNode } from '../runtime/index.js';

/** What `qood status` shows of the device link (under the chain's `bridge`). */
export type DeviceLinkStatus = ReturnType<DeviceLink['status']>;

/** A started device link. */
export interface DeviceLinkRole {
  status(): DeviceLinkStatus;
  stop(): void;
}

/** Starts the device link on the ingest role's broker connection and database. */
export function startDeviceLinkRole(o: {
  link: IngestLink;
  store: IngestStore;
  node: FullNode;
  prefix: string;
  /** The vehicles whose devices this node serves by the static override (`ingest.deviceKeys`). */
  vehicleIds: readonly string[];
  /** The config id of a chain vehicle id whose device the ingest serves (its device registry). */
  vehicleOf?: (chainVehicleId: string) => string | undefined;
  logger: Logger;
  metrics: Metrics;
}): DeviceLinkRole {
  o.metrics.declare(...DEVICE_LINK_COUNTERS);
  const logger = o.logger.child({ role: 'device-link' });
  const link = new DeviceLink({
    link: o.link,
    node: o.node,
    ingestStore: o.store,
    logger,
    topicPrefix: o.prefix,
    orders: {
      vehicleIds: o.vehicleIds,
      ...(o.vehicleOf === undefined ? {} : { vehicleOf: o.vehicleOf }),
      store: o.store,
    },
    onCount: (name, by) => o.metrics.inc(name, by),
  });
  link.start();
  logger.info({ topic: `${o.prefix}/chain/finality` }, 'device link started');
  return { status: () => link.status(), stop: () => link.stop() };
}
