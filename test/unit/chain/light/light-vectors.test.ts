import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeCheckpoint,
  decodeStateProof,
  decodeUpdate,
  fromHex,
  LightClient,
  toHex,
} from '../../../../chain/index.js';
import { projectRoot } from '../../../support/system.js';
import { generateLightVectors } from '../../../vectors/generate-light.js';

const pinned = JSON.parse(
  readFileSync(join(projectRoot(), 'test', 'vectors', 'chain-light.json'), 'utf8'),
) as {
  checkpoint: { bytes: string };
  scheduleChange: { height: number; headId: string; bytes: string };
  activation: { height: number; headId: string; bytes: string };
  stateProof: { height: number; key: string; bytes: string };
};

describe('light client vectors (test/vectors/chain-light.json)', () => {
  it('are exactly what the code produces today', () => {
    expect(JSON.parse(JSON.stringify(generateLightVectors()))).toEqual(pinned);
  });

  it('a client fed the pinned bytes reaches the pinned heads and checks the pinned proof', () => {
    const c = new LightClient({ checkpoint: decodeCheckpoint(fromHex(pinned.checkpoint.bytes)) });
    const r1 = c.apply(decodeUpdate(fromHex(pinned.scheduleChange.bytes)));
    expect(r1.ok && r1.scheduleProven).toBe(true);
    expect(toHex(c.headId)).toBe(pinned.scheduleChange.headId);
    const r2 = c.apply(decodeUpdate(fromHex(pinned.activation.bytes)));
    expect(r2.ok && r2.scheduleActivated).toBe(true);
    expect(toHex(c.headId)).toBe(pinned.activation.headId);
    const proven = c.verify(decodeStateProof(fromHex(pinned.stateProof.bytes)));
    expect(proven).toMatchObject({ key: pinned.stateProof.key });
  });
});
