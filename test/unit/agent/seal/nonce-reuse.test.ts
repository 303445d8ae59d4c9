/**
 * Attack 7 of issue 14, "the same key and nonce seal two different chunks": a stream's sequence
 * numbers start again at 0 whenever a store starts empty (a store moved aside as corrupt, a device
 * paired again, a second device on the same vehicle), while the owner-class epoch key depends only
 * on the vehicle's data root, the stream and the epoch. Two chunks sealed under one key and nonce
 * give away the XOR of their plaintexts, so anyone who knows (or guesses) one chunk reads the other.
 * Here the data path runs on real SQLite store files, as on a device.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectSchema } from '../../../../agent/config/collect.js';
import { DataPath } from '../../../../agent/pipeline/data-path.js';
import { openSqliteChunkStore } from '../../../../agent/store/index.js';
import {
  chunkKey,
  decodeChunkBody,
  decodeSealedChunk,
  encodeChunkBody,
  getPublicKey,
  openChunkBody,
  ownerEpochKey,
  type Sample,
  type SealedChunk,
  toHex,
} from '../../../../chain/index.js';
import { silentLogger } from '../../../../process/log.js';
import { Metrics } from '../../../../process/metrics.js';
import { fixed } from '../../../vectors/generate-chain.js';

const dir = mkdtempSync(join(tmpdir(), 'qood-nonce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both devices of the vehicle get the same data root from the owner's bindings. */
const DATA_ROOT = fixed('nonce-reuse/data-root');
const DEVICE_A = fixed('nonce-reuse/device-a');
const DEVICE_B = fixed('nonce-reuse/device-b');
const T0_MS = 1_760_000_000_000;

/** Ten speed samples, one per 100 ms period, starting at `base` km/h. */
const drive = (base: number): Sample[] =>
  Array.from({ length: 10 }, (_, i) => ({
    path: 'Vehicle.Speed',
    tUs: (T0_MS + i * 100) * 1000,
    value: base + i,
  }));

/** Runs the data path of one device over a store file; returns the sealed chunks it stored. */
function sealOnDevice(deviceSecretKey: Uint8Array, storePath: string, samples: Sample[]): SealedChunk[] {
  const store = openSqliteChunkStore({ path: storePath });
  try {
    const path = new DataPath({
      collect: collectSchema.parse({
        schemes: [{ name: 'drive', kind: 'periodic', periodMs: 100, signals: ['Vehicle.Speed'] }],
        chunk: { maxAgeMs: 60_000 },
      }),
      identity: {
        vehicleId: 'car-1',
        deviceSecretKey,
        dataRoot: DATA_ROOT,
        oemPublicKey: getPublicKey(fixed('nonce-reuse/oem')),
        epochLengthS: 86_400,
        dictionaryId: 'qood-vss-6.0+obd-4.0',
      },
      ownerPublicKey: getPublicKey(fixed('nonce-reuse/owner')),
      store,
      metrics: new Metrics(),
      logger: silentLogger,
      nowMs: () => T0_MS + 5000,
    });
    path.add(samples);
    path.flush();
    return store.unsynced(100).map((r) => decodeSealedChunk(r.bytes));
  } finally {
    store.close();
  }
}

const xor = (a: Uint8Array, b: Uint8Array, n: number) =>
  Uint8Array.from({ length: n }, (_, i) => a[i]! ^ b[i]!);

/**
 * The attack: knowing the samples of `known` (its plaintext body), XOR both ciphertexts with it.
 * Under a reused key and nonce that is the other chunk's plaintext body.
 */
function recoverWithKnownPlaintext(
  known: SealedChunk,
  knownSamples: Sample[],
  other: SealedChunk,
): Uint8Array {
  const knownBody = encodeChunkBody(knownSamples).body;
  const n = Math.min(knownBody.length, other.ciphertext.length - 16, known.ciphertext.length - 16);
  return xor(xor(known.ciphertext, other.ciphertext, n), knownBody, n);
}

function decodesTo(body: Uint8Array): Sample[] | undefined {
  try {
    return decodeChunkBody(body);
  } catch {
    return undefined;
  }
}

describe('attack 7: the same key and nonce seal two different chunks', () => {
  const first = drive(40);
  const second = drive(40); // the same length of body, so the whole of it is exposed
  second.forEach((s, i) => {
    (s as { value: number }).value = 90 - i;
  });

  it('a store moved aside and recreated does not seal its first chunk under the old first chunk’s key and nonce', () => {
    const storePath = join(dir, 'agent.db');
    const [before] = sealOnDevice(DEVICE_A, storePath, first);
    // What openChunkStoreOrMoveAside does with a store it cannot use: rename it, start an empty one.
    renameSync(storePath, `${storePath}.corrupt-1`);
    const [after] = sealOnDevice(DEVICE_A, storePath, second);
    expect(before!.header.seq).toBe(0);
    expect(after!.header.seq).toBe(0);
    expect(after!.header.keyEpoch).toBe(before!.header.keyEpoch);
    expect(decodesTo(recoverWithKnownPlaintext(before!, first, after!))).not.toEqual(second);
  });

  it('a second device on the same vehicle does not seal under the first device’s key and nonce', () => {
    const [a] = sealOnDevice(DEVICE_A, join(dir, 'a.db'), first);
    const [b] = sealOnDevice(DEVICE_B, join(dir, 'b.db'), second);
    expect([a!.header.seq, b!.header.seq]).toEqual([0, 0]);
    expect(decodesTo(recoverWithKnownPlaintext(a!, first, b!))).not.toEqual(second);
  });
});

describe('chunk keys and nonces', () => {
  it('two devices on one vehicle and recreated stores never seal two chunks under the same key and nonce', () => {
    const byId = new Map<string, SealedChunk>();
    const keep = (chunks: SealedChunk[]) => {
      for (const c of chunks) byId.set(toHex(c.id), c);
    };
    for (const [i, device] of [DEVICE_A, DEVICE_B].entries())
      for (let run = 0; run < 3; run++) {
        // Each run starts from an empty store, as after a store was moved aside or the device re-paired.
        const storePath = join(dir, `pairs-${i}-${run}.db`);
        keep(sealOnDevice(device, storePath, drive(10 * run)));
        keep(sealOnDevice(device, storePath, drive(10 * run + 5))); // the same store, continued
      }
    const sealed = [...byId.values()];
    expect(sealed).toHaveLength(12);
    expect(new Set(sealed.map((c) => c.header.seq))).toEqual(new Set([0, 1]));
    const pairs = sealed.map((c) => {
      const epochKey = ownerEpochKey(DATA_ROOT, c.header.stream, c.header.keyEpoch);
      // The owner (or a buyer sold the epoch key) still opens every chunk.
      expect(decodeChunkBody(openChunkBody(epochKey, c.header, c.ciphertext))).toHaveLength(10);
      return `${toHex(chunkKey(epochKey, c.header))}/${c.header.seq}`;
    });
    expect(new Set(pairs).size).toBe(sealed.length);
  });
});
