/**
 * Pins key derivation and every signed or hashed byte string of the data path
 * (test/vectors/data-keys.json, made by test/vectors/generate-data.ts). The chunk bodies are
 * deflated by node:zlib, whose output for a given input has been stable across zlib releases; a
 * change there would show here first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkSealedChunk,
  fromHex,
  openBinding,
  openDescriptor,
  unwrapDataRoot,
} from '../../../../chain/index.js';
import { projectRoot } from '../../../support/system.js';
import { fixed } from '../../../vectors/generate-chain.js';
import { generateDataVectors } from '../../../vectors/generate-data.js';

const pinned = JSON.parse(readFileSync(join(projectRoot(), 'test', 'vectors', 'data-keys.json'), 'utf8')) as {
  vehicleRoot: string;
  chunks: { id: string; bytes: string }[];
  descriptor: { id: string; bytes: string };
  binding: string;
};

describe('data path vectors (test/vectors/data-keys.json)', () => {
  it('are exactly what the code produces today (a change here is a protocol change)', () => {
    expect(JSON.parse(JSON.stringify(generateDataVectors()))).toEqual(pinned);
  });

  it('the pinned chunks, descriptor and binding verify', () => {
    for (const c of pinned.chunks)
      expect(Buffer.from(checkSealedChunk(fromHex(c.bytes)).id).toString('hex')).toBe(c.id);
    expect(Buffer.from(openDescriptor(fromHex(pinned.descriptor.bytes)).id).toString('hex')).toBe(
      pinned.descriptor.id,
    );
    const b = openBinding(fromHex(pinned.binding));
    expect(Buffer.from(unwrapDataRoot(b, fixed('vector/device-secret'))).toString('hex')).toBe(
      pinned.vehicleRoot,
    );
  });
});
