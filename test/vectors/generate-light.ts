/**
 * Generates test/vectors/chain-light.json: the bytes a light client receives (a checkpoint, a
 * finality update whose schedule record proves the next round's new schedule, with a key proof, the
 * update of the round that schedule runs in, a state proof) from a fixed four-producer chain built
 * by test/support/light-chain.ts (rounds of 4 blocks), with the head each leads to.
 * `npm run build && node dist/test/vectors/generate-light.js` rewrites the file;
 * test/unit/light/light-vectors.test.ts fails when the code no longer produces it. Changing the file
 * is a deliberate, reviewed act: it changes the protocol.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeActiveSchedule,
  encodeCheckpoint,
  encodeStateProof,
  encodeUpdate,
  headerId,
  proveKey,
  stateKey,
  toHex,
} from '../../chain/index.js';
import { buildLightChain, checkpointAt, updateAt } from '../support/light-chain.js';

/** Every light-client vector as JSON-ready data. */
export function generateLightVectors(): Record<string, unknown> {
  // Elected at 2, decided by block 3 (the last of round 0), run from block 8 (round 2).
  const chain = buildLightChain({ producers: 4, electAt: [2], height: 8, roundBlocks: 4 });
  const change = updateAt(chain, 5, [stateKey.supply()]);
  const plain = updateAt(chain, 8);
  const p = proveKey(chain.states[8]!, stateKey.supply());
  return {
    chainId: change.header.chainId,
    checkpoint: { height: 1, bytes: toHex(encodeCheckpoint(checkpointAt(chain, 1))) },
    scheduleChange: {
      height: 5,
      headId: toHex(headerId(change.header)),
      record: toHex(encodeActiveSchedule(change.schedule!.record)),
      bytes: toHex(encodeUpdate(change)),
    },
    activation: { height: 8, headId: toHex(headerId(plain.header)), bytes: toHex(encodeUpdate(plain)) },
    stateProof: {
      height: 8,
      key: p.key,
      bytes: toHex(encodeStateProof({ height: 8, proof: { key: p.key, value: p.value, proof: p.proof } })),
    },
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Compiled to dist/test/vectors: the source tree's test/vectors is three levels up from dist's.
  const dir = join(here, '..', '..', '..', 'test', 'vectors');
  writeFileSync(join(dir, 'chain-light.json'), `${JSON.stringify(generateLightVectors(), null, 2)}\n`);
  process.stdout.write(`written ${dir}/chain-light.json\n`);
}
