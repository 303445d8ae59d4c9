/**
 * Config section `permissions`: the listener and control APIs. Present: the agent keeps grants,
 * serves listeners and (with a `profile`) executes control commands; absent: it grants nothing.
 * Needs a paired device (the binding names the owner key grants are checked against).
 */
import { z } from 'zod';
import { filePath } from './common.js';

export const permissionsSchema = z
  .object({
    /** Vehicle profile (YAML or JSON): the frames each command writes. Absent: no control API. */
    profile: filePath.optional(),
    /** CAN interface the commands are written on (default: the first CAN source's). */
    interface: z.string().min(1).optional(),
    /** Chain id named in the device's `controlExec` transactions. */
    chainId: z.string().min(1).max(64).default('qood-1'),
    /** A command's or pull's issue time may differ from the device clock by this much, ms. */
    skewMs: z.number().int().min(1000).max(600_000).default(30_000),
    /**
     * Control stops while the wall clock disagrees with GNSS time or the chain's latest final block
     * by more than this, or has stepped back by more than this, ms.
     */
    clockBoundMs: z.number().int().min(500).max(600_000).default(5000),
    /** Interlocks need a value of their signal received at most this long ago, ms. */
    maxSignalAgeMs: z.number().int().min(100).max(60_000).default(2000),
    /**
     * Most rows the audit log keeps; past it the oldest are deleted and the hash chain continues
     * from the last deleted row's hash (`qood audit --verify` checks it).
     */
    auditMaxRows: z.number().int().min(100).max(10_000_000).default(50_000),
    /** Cap on any listen grant's rate, Hz. */
    maxListenRateHz: z.number().positive().max(100).default(10),
    /** Listener tick, ms: a stream stops within this much of expiry. */
    tickMs: z.number().int().min(10).max(1000).default(50),
  })
  .strict();

export type PermissionsConfig = z.infer<typeof permissionsSchema>;
