/**
 * Sealing and what a buyer checks: chunks sealed from collected samples verify and decrypt to the
 * samples that went in; every kind of tampering is caught by `verifyBatch` with a precise reason;
 * OEM and disputed data open only with the right parties' keys; a binding gives the device its root
 * and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { Chunker, type PlainChunk } from '../../../../agent/chunk/index.js';
import type { StreamInfo } from '../../../../agent/collect/index.js';
import { BatchBuilder, deviceEpochKey, Sealer } from '../../../../agent/seal/index.js';
import {
  BindingError,
  createBinding,
  decodeCanonical,
  descriptorRoot,
  disputedEpochKey,
  Ed25519Signer,
  encodeCanonical,
  fromHex,
  generateMnemonic,
  getPublicKey,
  type KeyLookup,
  oemEpochKey,
  openBinding,
  openDescriptor,
  ownerEpochKey,
  ownerIdentity,
  type Sample,
  SeedError,
  seedFromMnemonic,
  signDescriptor,
  toHex,
  unwrapDataRoot,
  vehicleDataRoot,
  verifyBatch,
} from '../../../../chain/index.js';
import { fixed } from '../../../vectors/generate-chain.js';

const seed = seedFromMnemonic(generateMnemonic());
const owner = ownerIdentity(seed);
const root = vehicleDataRoot(seed, 'car-9');
const deviceSecret = fixed('test/device');
const oemSecret = fixed('test/oem');
const identity = {
  vehicleId: 'car-9',
  deviceSecretKey: deviceSecret,
  dataRoot: root,
  oemPublicKey: getPublicKey(oemSecret),
  epochLengthS: 3600,
  dictionaryId: 'qood-vss-6.0+obd-4.0',
};
const stream = (id: string, dataClass: StreamInfo['dataClass'] = 'owner'): StreamInfo => ({
  id,
  scheme: id.split('.')[0]!,
  dataClass,
  privacy: 'normal',
  priority: 5,
});

/** Seals `n` chunks of 50 samples on each stream and describes them in one batch. */
function makeBatch(streams: StreamInfo[], n = 4) {
  const sealer = new Sealer({ identity, loadHead: () => undefined });
  const batch = new BatchBuilder({
    vehicleId: 'car-9',
    dictionaryId: identity.dictionaryId,
    ownerPublicKey: owner.publicKey,
    epochLengthS: 3600,
    signer: new Ed25519Signer(deviceSecret),
  });
  const input: Sample[] = [];
  const chunks: PlainChunk[] = [];
  const chunker = new Chunker({
    maxSpanMs: 1e9,
    maxSamples: 50,
    maxAgeMs: 1e9,
    firstSeq: (s) => sealer.head(s).nextSeq,
    onChunk: (c) => chunks.push(c),
  });
  const t0 = 1_760_000_000_000_000;
  for (let i = 0; i < 50 * n; i++)
    for (const s of streams) {
      const sample: Sample = {
        path: i % 2 ? 'Vehicle.Speed' : 'Vehicle.Powertrain.CombustionEngine.IsRunning',
        tUs: t0 + i * 20_000,
        value: i % 2 ? 30 + i / 4 : i % 3 === 0,
      };
      input.push(sample);
      chunker.add(s, sample, 0);
    }
  const sealed = chunks.map((c) => sealer.seal(c));
  for (const s of sealed) batch.add(s);
  const cut = batch.cut(Date.now())!;
  return { sealed, descriptor: cut.bytes, input, sealer };
}

const ownerKeys: KeyLookup = (s, cls, epoch) => (cls === 'owner' ? ownerEpochKey(root, s, epoch) : undefined);
const sortSamples = (x: readonly Sample[]) =>
  [...x].sort((a, b) => a.tUs - b.tUs || a.path.localeCompare(b.path));

describe('seal and verify', () => {
  it('a batch verifies and decrypts to exactly the samples that went in', () => {
    const b = makeBatch([stream('drive'), stream('trip')]);
    const r = verifyBatch({
      descriptor: b.descriptor,
      chunks: b.sealed.map((s) => s.bytes),
      keys: ownerKeys,
    });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.chunks).toHaveLength(8);
    expect(sortSamples(r.samples)).toEqual(sortSamples(b.input));
  });

  const flip = (bytes: Uint8Array, at: number) => {
    const c = Uint8Array.from(bytes);
    c[at]! ^= 0x01;
    return c;
  };

  it('a flipped bit in a ciphertext is caught by its hash', () => {
    const b = makeBatch([stream('drive')]);
    const chunks = b.sealed.map((s) => s.bytes);
    chunks[2] = flip(chunks[2]!, chunks[2]!.length - 5);
    const r = verifyBatch({ descriptor: b.descriptor, chunks, keys: ownerKeys });
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/drive#2 .*the ciphertext does not match the hash in its header/);
  });

  it('a changed header field breaks the device signature', () => {
    const b = makeBatch([stream('drive')]);
    const chunks = b.sealed.map((s) => s.bytes);
    const doc = decodeCanonical(chunks[1]!) as [unknown[], Uint8Array, Uint8Array];
    doc[0][6] = (doc[0][6] as number) + 1; // sampleCount
    chunks[1] = encodeCanonical(doc as never);
    const r = verifyBatch({ descriptor: b.descriptor, chunks, keys: ownerKeys });
    expect(r.problems.join('\n')).toMatch(/drive#1 .*the device signature over the header does not verify/);
  });

  it('a flipped bit in a signature is caught', () => {
    const b = makeBatch([stream('drive')]);
    const chunks = b.sealed.map((s) => s.bytes);
    const doc = decodeCanonical(chunks[0]!) as [unknown, Uint8Array, Uint8Array];
    doc[1] = flip(doc[1], 10);
    chunks[0] = encodeCanonical(doc as never);
    const r = verifyBatch({ descriptor: b.descriptor, chunks, keys: ownerKeys });
    expect(r.problems.join('\n')).toMatch(/drive#0 .*signature .* does not verify/);
  });

  it('a broken chain link is named, even when every chunk is validly signed', () => {
    const b = makeBatch([stream('drive')]);
    // The same device seals a different chunk 2 that links to a forged predecessor.
    const forger = new Sealer({ identity, loadHead: () => ({ nextSeq: 2, prevId: fixed('not-chunk-1') }) });
    const forged = forger.seal({
      stream: stream('drive'),
      seq: 2,
      tStartUs: 1_760_000_000_000_000,
      tEndUs: 1_760_000_000_000_000,
      samples: [{ path: 'Vehicle.Speed', tUs: 1_760_000_000_000_000, value: 1 }],
    });
    const ids = b.sealed.map((s) => fromHex(s.id));
    ids[2] = fromHex(forged.id);
    const d = decodeCanonical(b.descriptor) as [unknown[], Uint8Array];

    const desc = openDescriptor(b.descriptor).descriptor;

    const resigned = signDescriptor(
      { ...desc, chunkIds: ids, merkleRoot: descriptorRoot(ids) },
      new Ed25519Signer(deviceSecret),
    );
    expect(d).toBeDefined();
    const chunks = b.sealed.map((s) => s.bytes);
    chunks[2] = forged.bytes;
    const r = verifyBatch({ descriptor: resigned.bytes, chunks, keys: ownerKeys });
    expect(r.problems.join('\n')).toMatch(
      /drive#2: its header links to .* but the chunk before it is .* \(broken hash chain\)/,
    );
    expect(r.problems.join('\n')).toMatch(/drive#3: its header links to/);
  });

  it('a missing chunk, an extra chunk and a wrong Merkle root are each named', () => {
    const b = makeBatch([stream('drive')]);
    const stranger = new Sealer({ identity, loadHead: () => undefined }).seal({
      stream: stream('drive'),
      seq: 0,
      tStartUs: 5,
      tEndUs: 5,
      samples: [{ path: 'Vehicle.Speed', tUs: 5, value: 1 }],
    });
    const chunks = b.sealed.map((s) => s.bytes);
    chunks.splice(1, 1);
    chunks.push(stranger.bytes);
    const r = verifyBatch({ descriptor: b.descriptor, chunks, keys: ownerKeys });
    const text = r.problems.join('\n');
    expect(text).toMatch(/drive#1: missing from the batch/);
    expect(text).toMatch(/drive#0 .*not listed in the descriptor/);

    const desc = openDescriptor(b.descriptor).descriptor;
    const bad = signDescriptor({ ...desc, merkleRoot: fixed('wrong root') }, new Ed25519Signer(deviceSecret));
    const r2 = verifyBatch({ descriptor: bad.bytes, chunks: b.sealed.map((s) => s.bytes), keys: ownerKeys });
    expect(r2.problems).toContain('descriptor: the Merkle root does not match its chunk ids');
  });

  it('a tampered descriptor or one signed by another device is refused', () => {
    const b = makeBatch([stream('drive')]);
    const r = verifyBatch({ descriptor: flip(b.descriptor, 40), chunks: [], keys: ownerKeys });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/^descriptor: /);

    const desc = openDescriptor(b.descriptor).descriptor;
    const intruder = new Ed25519Signer(fixed('intruder'));
    const alien = signDescriptor({ ...desc, devicePublicKey: intruder.publicKey }, intruder);
    const r2 = verifyBatch({
      descriptor: alien.bytes,
      chunks: b.sealed.map((s) => s.bytes),
      keys: ownerKeys,
    });
    expect(r2.problems.join('\n')).toMatch(/signed by device .* expected/);
  });

  it('the wrong key is told apart from tampering', () => {
    const b = makeBatch([stream('drive')]);
    const wrong: KeyLookup = (s, _c, e) => ownerEpochKey(vehicleDataRoot(seed, 'another-car'), s, e);
    const r = verifyBatch({ descriptor: b.descriptor, chunks: b.sealed.map((s) => s.bytes), keys: wrong });
    expect(r.problems[0]).toMatch(/drive#0: does not decrypt with the key for epoch \d+/);
    const none = verifyBatch({
      descriptor: b.descriptor,
      chunks: b.sealed.map((s) => s.bytes),
      keys: () => undefined,
    });
    expect(none.problems[0]).toMatch(/no key for owner epoch/);
  });

  it('OEM data opens with the OEM key, not the owner’s; disputed data needs both parts', () => {
    const b = makeBatch([stream('diag.oem', 'oem'), stream('crash.disputed', 'disputed')], 2);
    const chunks = b.sealed.map((s) => s.bytes);
    const asOwner = verifyBatch({ descriptor: b.descriptor, chunks, keys: ownerKeys });
    expect(asOwner.chunks).toHaveLength(0);
    const devicePub = getPublicKey(deviceSecret);
    const oemPart = (s: string, e: number) => oemEpochKey(oemSecret, devicePub, 'car-9', s, e);
    const asOem = verifyBatch({
      descriptor: b.descriptor,
      chunks,
      keys: (s, c, e) => (c === 'oem' ? oemPart(s, e) : undefined),
    });
    expect(asOem.chunks.map((c) => c.stream)).toEqual(['diag.oem', 'diag.oem']);
    const both: KeyLookup = (s, c, e) =>
      c === 'disputed'
        ? disputedEpochKey(ownerEpochKey(root, s, e), oemPart(s, e), s, e)
        : c === 'oem'
          ? oemPart(s, e)
          : undefined;
    expect(verifyBatch({ descriptor: b.descriptor, chunks, keys: both }).ok).toBe(true);
    expect(deviceEpochKey(identity, 'oem', 'x', 1)).toEqual(oemPart('x', 1));
  });

  it('a binding hands the device its root, signed by the owner, and nothing to another device', () => {
    const bytes = createBinding({
      vehicleId: 'car-9',
      devicePublicKey: getPublicKey(deviceSecret),
      ownerSecretKey: owner.secretKey,
      dataRoot: root,
      epochLengthS: 3600,
      issuedMs: 1,
    });
    const b = openBinding(bytes);
    expect(toHex(b.ownerPublicKey)).toBe(toHex(owner.publicKey));
    expect(unwrapDataRoot(b, deviceSecret)).toEqual(root);
    expect(() => unwrapDataRoot(b, fixed('other device'))).toThrow(BindingError);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 70]! ^= 1;
    expect(() => openBinding(tampered)).toThrow(/binding: /);
  });

  it('a seed phrase with a wrong word or checksum is refused with the reason', () => {
    const words = generateMnemonic().split(' ');
    expect(() => seedFromMnemonic([...words.slice(0, 23), 'qoodblock'].join(' '))).toThrow(
      /word 24 \('qoodblock'\)/,
    );
    expect(() => seedFromMnemonic([words[1], words[0], ...words.slice(2)].join(' '))).toThrow(SeedError);
  });
});
