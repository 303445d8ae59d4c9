/**
 * The node's side of descriptors: checking a signed 256-chunk descriptor (decode, device key,
 * signature, Merkle root) against one ed25519 verification, the floor no check can go under;
 * storing one descriptor per transaction (its row and its 256 chunk-id rows, synchronous FULL)
 * against storing one 4 KiB chunk per transaction in the same database kind; and the buyer-side
 * lookup "which descriptors cover this chunk" against reading a chunk's bytes by id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ed25519Signer, fromHex, verify } from '../../chain/index.js';
import {
  devicePublicKeyHex,
  type IngestDescriptor,
  IngestStore,
  sealedDescriptorVerifier,
} from '../../node/ingest/index.js';
import { makeRecord, makeSignedDescriptor, TEST_DEVICE_KEY } from '../support/chunks.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const CHUNKS_PER_DESCRIPTOR = 256;
let dir = '';
let files = 0;
const file = () => join(dir, `r${files++}.db`);

/** Runs `fn` for about `ms` and returns calls per second. */
function rate(fn: () => void, ms = 300): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function descriptors(count: number): IngestDescriptor[] {
  return Array.from({ length: count }, (_, k) => {
    const recs = Array.from({ length: CHUNKS_PER_DESCRIPTOR }, (_, i) =>
      makeRecord(`s${i % 4}`, k * CHUNKS_PER_DESCRIPTOR + i),
    );
    const d = makeSignedDescriptor(recs, { createdMs: k });
    return { id: d.id, vehicleId: 'car-1', createdMs: k, chunkIds: recs.map((r) => r.id), bytes: d.bytes };
  });
}

export const suite: BenchSuite = {
  name: 'ingest records',
  figures: async () => {
    dir = mkdtempSync(join(tmpdir(), 'qood-bench-records-'));
    const verifyDescriptor = sealedDescriptorVerifier({ 'car-1': devicePublicKeyHex(TEST_DEVICE_KEY) });
    const batch = descriptors(200);
    const one = batch[0]!;
    const signer = new Ed25519Signer(TEST_DEVICE_KEY);
    const msg = fromHex(one.id);
    const sig = signer.sign(msg);
    const chunks = Array.from({ length: 200 }, (_, i) => ({
      ...makeRecord('s', i, { size: 4096 }),
      vehicleId: 'car-1',
    }));
    // A node holding 200 descriptors of 256 chunks each, and the chunks.
    const lookup = new IngestStore({ path: file() });
    lookup.putDescriptors(batch, 0);
    const allIds = batch.flatMap((d) => d.chunkIds);
    lookup.putBatch(
      allIds
        .slice(0, 2000)
        .map((id, i) => ({ id, vehicleId: 'car-1', stream: 's', seq: i, bytes: new Uint8Array(64) })),
      0,
    );
    let probe = 0;
    const figures: BenchFigure[] = [
      {
        name: `check a signed ${CHUNKS_PER_DESCRIPTOR}-chunk descriptor`,
        unit: 'descriptors/s',
        measure: () => rate(() => verifyDescriptor(one.bytes)),
        floor: { name: 'one ed25519 verify', measure: () => rate(() => verify(sig, msg, signer.publicKey)) },
      },
      {
        name: `store ${CHUNKS_PER_DESCRIPTOR}-chunk descriptors, one per transaction, FULL`,
        unit: 'descriptors/s',
        runs: 3,
        measure: () => {
          const s = new IngestStore({ path: file() });
          const t0 = performance.now();
          for (const d of batch) s.putDescriptors([d], 0);
          const r = batch.length / ((performance.now() - t0) / 1000);
          s.close();
          return r;
        },
        floor: {
          name: '4 KiB chunks, one per transaction',
          measure: () => {
            const s = new IngestStore({ path: file() });
            const t0 = performance.now();
            for (const c of chunks) s.putBatch([c], 0);
            const r = chunks.length / ((performance.now() - t0) / 1000);
            s.close();
            return r;
          },
        },
      },
      {
        name: 'which descriptors cover a held chunk (51,200 listed)',
        unit: 'lookups/s',
        measure: () => rate(() => lookup.descriptorsOfChunk(allIds[(probe++ * 7919) % 2000]!)),
        floor: {
          name: 'chunk bytes by id',
          measure: () => rate(() => lookup.chunkBytes(allIds[(probe++ * 7919) % 2000]!)),
        },
      },
    ];
    return figures;
  },
  teardown: () => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  },
};
