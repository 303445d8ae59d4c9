/**
 * The device link's counters and the logger it reports to. `bridge.finality.*` are about
 * finality updates published to devices, `bridge.txs.*` about devices' queued transactions
 * submitted to the chain, `bridge.orders.*` about buy orders announced to devices.
 */

/** Counters the bridge keeps (mirrored into the node's metrics by the CLI). */
export const DEVICE_LINK_COUNTERS = [
  'bridge.finality.published',
  'bridge.finality.proofs',
  'bridge.finality.scheduleChanges',
  'bridge.finality.scheduleUnproven',
  'bridge.finality.refused',
  'bridge.finality.errors',
  'bridge.txs.read',
  'bridge.txs.skipped',
  'bridge.txs.admitted',
  'bridge.txs.included',
  'bridge.txs.refused',
  'bridge.txs.resubmitted',
  'bridge.orders.announced',
  'bridge.orders.skipped',
  'bridge.orders.failed',
] as const;
export type DeviceLinkCounter = (typeof DEVICE_LINK_COUNTERS)[number];

/** Adds `by` (default 1) to a counter. */
export type DeviceLinkCount = (name: DeviceLinkCounter, by?: number) => void;

/** Where the bridge reports (a subset of pino's logger). */
export interface DeviceLinkLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}
