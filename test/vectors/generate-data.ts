/**
 * Generates test/vectors/data-keys.json: the key derivation from a fixed seed phrase (owner
 * identity, vehicle root, owner/OEM/disputed epoch keys, a chunk key from an epoch key, the device
 * key and a key salt), sealed chunks' header bytes, ids and signed bytes, a device binding and a
 * signed descriptor, all from fixed inputs (fixed key salts stand in for the sealer's randomness).
 * `npm run build && node dist/test/vectors/generate-data.js` rewrites the file;
 * test/unit/chain/data/vectors.test.ts fails when the code no longer produces it.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chunker, type PlainChunk } from '../../agent/chunk/index.js';
import { BatchBuilder, Sealer } from '../../agent/seal/index.js';
import {
  chunkKey,
  createBinding,
  disputedEpochKey,
  Ed25519Signer,
  encodeChunkHeader,
  getPublicKey,
  oemEpochKey,
  ownerEpochKey,
  ownerIdentity,
  seedFromMnemonic,
  toHex,
  vehicleDataRoot,
} from '../../chain/index.js';
import { fixed } from './generate-chain.js';

/** The BIP-39 test phrase (all "abandon" but the checksum word). */
export const VECTOR_MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon ' +
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art';

export function generateDataVectors(): Record<string, unknown> {
  const seed = seedFromMnemonic(VECTOR_MNEMONIC);
  const owner = ownerIdentity(seed);
  const root = vehicleDataRoot(seed, 'car-1');
  const device = fixed('vector/device-secret');
  const oem = fixed('vector/oem-secret');
  const ownerKey = ownerEpochKey(root, 'drive', 20_000);
  const oemKey = oemEpochKey(device, getPublicKey(oem), 'car-1', 'drive.oem', 20_000);
  const identity = {
    vehicleId: 'car-1',
    deviceSecretKey: device,
    dataRoot: root,
    oemPublicKey: getPublicKey(oem),
    epochLengthS: 86_400,
    dictionaryId: 'qood-vss-6.0+obd-4.0',
  };
  // Fixed key salts stand in for the CSPRNG, so the chunks (and their ids) are reproducible.
  let salts = 0;
  const sealer = new Sealer({
    identity,
    loadHead: () => undefined,
    random: (n) => fixed(`vector/key-salt/${salts++}`).subarray(0, n),
  });
  const chunks: PlainChunk[] = [];
  const chunker = new Chunker({
    maxSpanMs: 1000,
    maxSamples: 100,
    maxAgeMs: 1e9,
    firstSeq: () => 0,
    onChunk: (c) => chunks.push(c),
  });
  const stream = {
    id: 'drive',
    scheme: 'drive',
    dataClass: 'owner',
    privacy: 'normal',
    priority: 5,
  } as const;
  for (let i = 0; i < 30; i++)
    chunker.add(
      stream,
      { path: 'Vehicle.Speed', tUs: 1_728_000_000_000_000 + i * 100_000, value: 50 + i * 0.5 },
      0,
    );
  chunker.flush(0);
  const signer = new Ed25519Signer(device);
  const batch = new BatchBuilder({
    vehicleId: 'car-1',
    dictionaryId: identity.dictionaryId,
    ownerPublicKey: owner.publicKey,
    epochLengthS: 86_400,
    signer,
  });
  const sealed = chunks.map((c) => sealer.seal(c));
  for (const s of sealed) batch.add(s);
  const cut = batch.cut(1_728_000_010_000)!;
  return {
    mnemonic: VECTOR_MNEMONIC,
    seed: toHex(seed),
    ownerSecret: toHex(owner.secretKey),
    ownerPublic: toHex(owner.publicKey),
    vehicleRoot: toHex(root),
    ownerEpochKey: toHex(ownerKey),
    oemEpochKey: toHex(oemKey),
    disputedEpochKey: toHex(disputedEpochKey(ownerKey, oemKey, 'drive.disputed', 20_000)),
    chunkKey: toHex(
      chunkKey(ownerKey, {
        devicePublicKey: getPublicKey(device),
        keySalt: fixed('vector/key-salt/0').subarray(0, 16),
      }),
    ),
    chunks: sealed.map((s) => ({ id: s.id, prevId: s.prevId, bytes: toHex(s.bytes) })),
    descriptor: { id: cut.id, bytes: toHex(cut.bytes) },
    binding: toHex(
      createBinding({
        vehicleId: 'car-1',
        devicePublicKey: getPublicKey(device),
        ownerSecretKey: owner.secretKey,
        dataRoot: root,
        oemPublicKey: getPublicKey(oem),
        epochLengthS: 86_400,
        issuedMs: 1_728_000_000_000,
        ephemeralSecret: fixed('vector/binding-ephemeral'),
      }),
    ),
    headerOfFirst: toHex(
      encodeChunkHeader({
        vehicleId: 'car-1',
        stream: 'drive',
        seq: 0,
        tStartUs: 1,
        tEndUs: 2,
        sampleCount: 1,
        dictionaryId: 'd',
        keyEpoch: 0,
        dataClass: 'owner',
        privacy: 'normal',
        ciphertextHash: new Uint8Array(32),
        prevId: new Uint8Array(32),
        devicePublicKey: getPublicKey(device),
        keySalt: new Uint8Array(16).fill(0xab),
      }),
    ),
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(here, '..', '..', '..', 'test', 'vectors', 'data-keys.json');
  writeFileSync(out, `${JSON.stringify(generateDataVectors(), null, 2)}\n`);
  process.stdout.write(`written ${out}\n`);
}
