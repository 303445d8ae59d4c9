/**
 * The light client's saved state file (issue 14, attack 8): versioned canonical CBOR with a
 * checksum; at start the newer of it and the configured checkpoint is used, a damaged file is moved
 * aside, one of another chain is refused.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  chooseStart,
  decodeLightState,
  encodeLightState,
  saveLightState,
} from '../../../../agent/chain/index.js';
import { encodeCanonical, encodeCheckpoint, sha256 } from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { buildLightChain, checkpointAt, LIGHT_T0 } from '../../../support/light-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-light-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const chain = buildLightChain({ producers: 4, electAt: [3], height: 12, roundBlocks: 4 });

describe('light-client state file', () => {
  it('round-trips a checkpoint and refuses another version, a bad checksum and garbage, naming why', () => {
    const cp = checkpointAt(chain, 9);
    expect(decodeLightState(encodeLightState(cp, 42))).toEqual({ checkpoint: cp, savedMs: 42 });
    const b = encodeCheckpoint(cp);
    expect(() => decodeLightState(encodeCanonical(['qood-light-state', 2, 0, b, sha256(b)]))).toThrow(
      'state file version 2, this agent reads version 1',
    );
    expect(() =>
      decodeLightState(encodeCanonical(['qood-light-state', 1, 0, b, sha256(b.subarray(1))])),
    ).toThrow('checksum mismatch');
    expect(() => decodeLightState(Uint8Array.of(1, 2, 3))).toThrow();
    expect(() => decodeLightState(encodeCanonical(['other', 1]))).toThrow('not a light-client state file');
  });

  it('starts from the newer of the saved state and the checkpoint (a fresh checkpoint wins)', () => {
    const file = join(dir, 'a.cbor');
    expect(chooseStart(checkpointAt(chain, 4), file, silentLogger, 0)).toMatchObject({ from: 'checkpoint' });
    saveLightState(file, checkpointAt(chain, 9), LIGHT_T0);
    expect(chooseStart(checkpointAt(chain, 4), file, silentLogger, 0)).toEqual({
      checkpoint: checkpointAt(chain, 9),
      from: 'saved',
    });
    expect(chooseStart(checkpointAt(chain, 12), file, silentLogger, 0)).toEqual({
      checkpoint: checkpointAt(chain, 12),
      from: 'checkpoint',
    });
  });

  it('moves a damaged file aside; refuses one of another chain and leaves it', () => {
    const sub = mkdtempSync(join(dir, 'd-'));
    const file = join(sub, 'light-state.cbor');
    writeFileSync(file, 'garbage');
    expect(chooseStart(checkpointAt(chain, 4), file, silentLogger, 7)).toMatchObject({ from: 'checkpoint' });
    expect(readdirSync(sub)).toEqual(['light-state.cbor.damaged-7']);
    const other = buildLightChain({
      producers: 4,
      electAt: [],
      height: 5,
      roundBlocks: 4,
      chainId: 'qood-x',
    });
    saveLightState(file, checkpointAt(other, 5), 0);
    expect(() => chooseStart(checkpointAt(chain, 4), file, silentLogger, 8)).toThrow(CheckpointFileError);
    expect(existsSync(file)).toBe(true);
  });
});
