/**
 * The trusted checkpoint of the `chain` config section: read once at start (a bad one stops the
 * start with the file and the reason), and the chain id the device signs its anchors and fills for.
 */
import { readFileSync } from 'node:fs';
import { type Checkpoint, decodeCheckpoint, LightError } from '../../chain/index.js';
import type { ChainConfig } from '../config/chain.js';

/** Why a checkpoint file cannot be used. */
export type CheckpointFileErrorCode = 'UNREADABLE' | 'NOT_A_CHECKPOINT' | 'OTHER_CHAIN';

/** A checkpoint file that cannot be used, naming the file. */
export class CheckpointFileError extends Error {
  constructor(
    readonly code: CheckpointFileErrorCode,
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
      'UNREADABLE',
      file,
      `cannot read the checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return decodeCheckpoint(bytes);
  } catch (err) {
    if (err instanceof LightError)
      throw new CheckpointFileError('NOT_A_CHECKPOINT', file, `not a checkpoint: ${err.message}`);
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
      'OTHER_CHAIN',
      config.checkpoint,
      `a checkpoint of chain '${fromCheckpoint}', but chain.chainId is '${config.chainId}'`,
    );
  return fromCheckpoint;
}

/** The checkpoint a device starts from and the chain id it signs for. */
export interface TrustedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly chainId: string;
}

/** Reads the `chain` section's checkpoint once and checks its chain id; throws CheckpointFileError. */
export function readTrustedCheckpoint(config: ChainConfig): TrustedCheckpoint {
  const checkpoint = readCheckpointFile(config.checkpoint);
  return { checkpoint, chainId: deviceChainId(config, checkpoint) };
}
