/**
 * The `chain.checkpoint` file: a version 2 checkpoint (both schedules and the round parameters the
 * light client checks schedule records against) is read back whole; a version 1 file, which has no
 * round parameters, is refused naming the file and what to do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointFileError, readCheckpointFile } from '../../../../agent/chain/index.js';
import { encodeCanonical, encodeCheckpoint, headerValue } from '../../../../chain/index.js';
import { buildLightChain, checkpointAt } from '../../../support/light-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-checkpoint-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const chain = buildLightChain({ producers: 4, electAt: [3], height: 6, roundBlocks: 4 });

describe('the checkpoint file', () => {
  it('reads both schedules and the round parameters', () => {
    const cp = checkpointAt(chain, 5);
    const file = join(dir, 'v2.bin');
    writeFileSync(file, encodeCheckpoint(cp));
    const read = readCheckpointFile(file);
    expect(Buffer.from(encodeCheckpoint(read)).equals(Buffer.from(encodeCheckpoint(cp)))).toBe(true);
    expect(read.next).not.toEqual(read.schedule); // elected at 3 (the last of round 0), runs in round 2
    expect(read.rounds).toEqual({ genesisTimeMs: chain.genesisSpec.timeMs, slotMs: 500, roundSlots: 4 });
  });

  it('refuses a version 1 checkpoint, which has no round parameters, with the advice to take a new one', () => {
    const cp = checkpointAt(chain, 5);
    const file = join(dir, 'v1.bin');
    const hex32 = (a: string) => new Uint8Array(Buffer.from(a, 'hex'));
    writeFileSync(file, encodeCanonical([1, headerValue(cp.header), cp.schedule.map(hex32), null]));
    let err: unknown;
    try {
      readCheckpointFile(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointFileError);
    expect((err as CheckpointFileError).code).toBe('NOT_A_CHECKPOINT');
    expect((err as Error).message).toMatch(
      /v1\.bin: not a checkpoint: .*version 1 predates .*take a new checkpoint/,
    );
  });
});
