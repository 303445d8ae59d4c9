/**
 * The light client's saved state, `<dataDir>/light-state.cbor`: what the client needs to resume
 * where it was (its final head, the schedule in force in the head's round, the next round's and
 * the round parameters: exactly a light-client checkpoint, chain/light/codec.ts), so a restarted
 * device neither falls back to the configured checkpoint's schedule (and refuses every update after
 * a schedule change) nor judges its trust window by a checkpoint it has long moved past.
 *
 *   file = canonical CBOR [ "qood-light-state", 1, savedMs, checkpointBytes, sha256(checkpointBytes) ]
 *
 * Written atomically and durably (process/atomic-file.ts). At start (`chooseStart`), the saved state
 * is used when it is newer than the configured checkpoint and of the same chain (chain id and round
 * parameters: genesis time, slot length, slots per round); a saved state of another chain stops the
 * start (CheckpointFileError OTHER_CHAIN naming the file); a damaged one is moved aside with a
 * warning and the configured checkpoint is used.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  bytesEqual,
  type Checkpoint,
  CodecError,
  decodeCanonical,
  decodeCheckpoint,
  encodeCanonical,
  encodeCheckpoint,
  headerId,
  LightError,
  sha256,
  toHex,
} from '../../chain/index.js';
import { type Logger, writeFileAtomic } from '../../process/index.js';
import { CheckpointFileError } from './checkpoint-file.js';

/** The state file's name in the device's data folder. */
export const LIGHT_STATE_FILE = 'light-state.cbor';
const MAGIC = 'qood-light-state';
/** Version of the state file layout (the checkpoint inside carries its own, LIGHT_VERSION). */
export const LIGHT_STATE_VERSION = 1;

/** The path of the state file in `dataDir`. */
export function lightStatePath(dataDir: string): string {
  return join(dataDir, LIGHT_STATE_FILE);
}

/** The state file's bytes for checkpoint `cp` saved at `savedMs`. */
export function encodeLightState(cp: Checkpoint, savedMs: number): Uint8Array {
  const bytes = encodeCheckpoint(cp);
  return encodeCanonical([MAGIC, LIGHT_STATE_VERSION, savedMs, bytes, sha256(bytes)]);
}

/** Decodes state file bytes; throws an Error naming what is wrong. */
export function decodeLightState(bytes: Uint8Array): { checkpoint: Checkpoint; savedMs: number } {
  let v: ReturnType<typeof decodeCanonical>;
  try {
    v = decodeCanonical(bytes);
  } catch (e) {
    if (e instanceof CodecError) throw new Error(`not canonical CBOR: ${e.message}`);
    throw e;
  }
  if (!Array.isArray(v) || v.length !== 5 || v[0] !== MAGIC)
    throw new Error(`not a light-client state file (expected ["${MAGIC}", version, ...])`);
  const [, version, savedMs, cpBytes, sum] = v as unknown[];
  if (version !== LIGHT_STATE_VERSION)
    throw new Error(`state file version ${String(version)}, this agent reads version ${LIGHT_STATE_VERSION}`);
  if (typeof savedMs !== 'number' || !(cpBytes instanceof Uint8Array) || !(sum instanceof Uint8Array))
    throw new Error('expected a save time, the checkpoint bytes and their SHA-256');
  if (!bytesEqual(sha256(cpBytes), sum))
    throw new Error('checksum mismatch: the checkpoint bytes are damaged');
  try {
    return { checkpoint: decodeCheckpoint(cpBytes), savedMs };
  } catch (e) {
    if (e instanceof LightError || e instanceof CodecError)
      throw new Error(`the saved checkpoint: ${e.message}`);
    throw e;
  }
}

/** Saves the client's state durably; throws the fs error (the caller logs it and goes on). */
export function saveLightState(file: string, cp: Checkpoint, savedMs: number): void {
  writeFileAtomic(file, encodeLightState(cp, savedMs), { mode: 0o600 });
}

/** Where the light client starts: the configured checkpoint or the saved state. */
export interface StartPoint {
  readonly checkpoint: Checkpoint;
  readonly from: 'checkpoint' | 'saved';
}

/**
 * Picks the start point from the configured checkpoint and the state file (`file`). A missing
 * state file: the checkpoint. A damaged one: moved aside to `<file>.damaged-<ms>` with a warning,
 * then the checkpoint (a device never stops for it). One of another chain: CheckpointFileError
 * OTHER_CHAIN (the device's grants, anchors and nonces belong to the chain it followed; switching
 * chains is the operator's deliberate act: remove the file). A saved head above the checkpoint's:
 * the saved state; otherwise the checkpoint (a fresh one the operator installed wins).
 */
export function chooseStart(configured: Checkpoint, file: string, logger: Logger, nowMs: number): StartPoint {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file)); // a plain Uint8Array: decoded fields are views of it
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { checkpoint: configured, from: 'checkpoint' };
    return setAside(file, `unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let saved: Checkpoint;
  try {
    saved = decodeLightState(bytes).checkpoint;
  } catch (err) {
    return setAside(file, (err as Error).message);
  }
  const a = saved.rounds;
  const b = configured.rounds;
  const sameChain =
    saved.header.chainId === configured.header.chainId &&
    a.genesisTimeMs === b.genesisTimeMs &&
    a.slotMs === b.slotMs &&
    a.roundSlots === b.roundSlots;
  if (!sameChain)
    throw new CheckpointFileError(
      'OTHER_CHAIN',
      file,
      `the saved light-client state is of chain '${saved.header.chainId}' (genesis ${a.genesisTimeMs}, ${a.slotMs} ms slots, ${a.roundSlots} per round), the configured checkpoint of chain '${configured.header.chainId}' (genesis ${b.genesisTimeMs}, ${b.slotMs} ms slots, ${b.roundSlots} per round); if the device moves to that chain on purpose, remove ${file}`,
    );
  if (saved.header.height > configured.header.height) {
    logger.info(
      { file, height: saved.header.height, checkpointHeight: configured.header.height },
      'resuming the light client from its saved state',
    );
    return { checkpoint: saved, from: 'saved' };
  }
  if (
    saved.header.height === configured.header.height &&
    !bytesEqual(headerId(saved.header), headerId(configured.header))
  )
    logger.warn(
      {
        file,
        height: saved.header.height,
        saved: toHex(headerId(saved.header)).slice(0, 16),
        checkpoint: toHex(headerId(configured.header)).slice(0, 16),
      },
      'the saved light-client state names another block at the checkpoint height; trusting the configured checkpoint',
    );
  return { checkpoint: configured, from: 'checkpoint' };

  function setAside(f: string, why: string): StartPoint {
    const aside = `${f}.damaged-${nowMs}`;
    try {
      renameSync(f, aside);
    } catch {
      // Cannot move it (read-only folder?): it is overwritten by the next save anyway.
    }
    logger.warn(
      { file: f, movedTo: aside, reason: why },
      'the saved light-client state is damaged; moved aside, starting from the configured checkpoint',
    );
    return { checkpoint: configured, from: 'checkpoint' };
  }
}
