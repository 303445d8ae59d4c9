/**
 * Config section `chain`: the agent's light client. Present (with `sync`): the agent follows the
 * chain's finality updates from its broker, starting from a trusted checkpoint file, and applies
 * proven grant records (revocations, expiry) to its grants.
 */
import { z } from 'zod';
import { filePath } from './common.js';

export const chainSchema = z
  .object({
    /** Trusted checkpoint (canonical bytes: a final header and its schedule), from the TSP or a node. */
    checkpoint: filePath,
    /**
     * The chain's id, which the device signs its anchors and fills for; default: the checkpoint's
     * (when set, it must be the checkpoint's).
     */
    chainId: z.string().min(1).max(64).optional(),
    /** A checkpoint older than this is refused (weak subjectivity), days. */
    maxCheckpointAgeDays: z.number().int().positive().max(365).default(30),
  })
  .strict();

export type ChainConfig = z.infer<typeof chainSchema>;
