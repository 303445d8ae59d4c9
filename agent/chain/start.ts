/**
 * Starts the agent's chain view from the `chain` config section: reads the trusted checkpoint file
 * (a bad one stops the start with the file and the reason), then follows finality updates.
 */
import { readFileSync } from 'node:fs';
import { type Checkpoint, decodeCheckpoint, LightError } from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { ChainConfig } from '../config/chain.js';
import type { Uplink } from '../sync/index.js';
import { type ChainRecordSink, ChainView } from './chain-view.js';

/** A checkpoint file that cannot be used. */
export class CheckpointFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CheckpointFileError';
  }
}

/** Reads and decodes the checkpoint file of the `chain` section; throws CheckpointFileError. */
export function readCheckpointFile(file: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CheckpointFileError(
      file,
      `cannot read the checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return decodeCheckpoint(bytes);
  } catch (err) {
    if (err instanceof LightError) throw new CheckpointFileError(file, `not a checkpoint: ${err.message}`);
    throw err;
  }
}

/**
 * The chain id the device signs for: `chain.chainId` when set (it must be the checkpoint's), else
 * the checkpoint's. Throws CheckpointFileError.
 */
export function deviceChainId(
  config: ChainConfig,
  checkpoint = readCheckpointFile(config.checkpoint),
): string {
  const fromCheckpoint = checkpoint.header.chainId;
  if (config.chainId !== undefined && config.chainId !== fromCheckpoint)
    throw new CheckpointFileError(
      config.checkpoint,
      `a checkpoint of chain '${fromCheckpoint}', but chain.chainId is '${config.chainId}'`,
    );
  return fromCheckpoint;
}

export function startChainView(o: {
  config: ChainConfig;
  uplink: Uplink;
  metrics: Metrics;
  logger: Logger;
  grants?: ChainRecordSink;
  topicPrefix?: string;
  /** Wall clock for the checkpoint's age. */
  nowMs: () => number;
}): ChainView {
  const checkpoint = readCheckpointFile(o.config.checkpoint);
  deviceChainId(o.config, checkpoint);
  const view = new ChainView({
    checkpoint,
    uplink: o.uplink,
    metrics: o.metrics,
    logger: o.logger,
    maxCheckpointAgeMs: o.config.maxCheckpointAgeDays * 86_400_000,
    nowMs: o.nowMs,
    ...(o.grants === undefined ? {} : { grants: o.grants }),
    ...(o.topicPrefix === undefined ? {} : { topicPrefix: o.topicPrefix }),
  });
  view.start();
  o.logger.info(
    { checkpoint: o.config.checkpoint, finalHeight: view.finalHeight },
    'following chain finality',
  );
  return view;
}
