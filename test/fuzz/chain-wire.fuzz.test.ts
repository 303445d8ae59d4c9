/**
 * Fuzzing CBOR on every wire the chain defines: device-link envelopes and acks, order notices,
 * control commands, pull requests and receipts, listener messages, signed transactions, blocks,
 * light-client checkpoints, updates and proofs (decoded, then applied to a client), sealed chunks,
 * chunk bodies, descriptors, bindings, key bundles and state records. Inputs are arbitrary bytes,
 * byte edits of valid encodings, and valid encodings with one field replaced, dropped or added.
 * Each decoder gives a value or its layer's typed error with a code of its union; the device-link
 * decoders, which return results, never throw at all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BindingError,
  ChunkCheckError,
  ChunkFormatError,
  CodecError,
  CryptoError,
  checkSealedChunk,
  DescriptorError,
  decodeAccount,
  decodeAck,
  decodeAgreement,
  decodeAnchoredDescriptor,
  decodeBlock,
  decodeCanonical,
  decodeCertificate,
  decodeCheckpoint,
  decodeChunkBody,
  decodeChunkEnvelope,
  decodeCommand,
  decodeDescriptorEnvelope,
  decodeGenesis,
  decodeGrant,
  decodeOrder,
  decodeOrderNotice,
  decodePull,
  decodeSealedChunk,
  decodeSignedTx,
  decodeStateProof,
  decodeTxAck,
  decodeTxEnvelope,
  decodeUpdate,
  decodeVehicle,
  Ed25519Signer,
  encodeCanonical,
  encodeChunkBody,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeListenerPayload,
  encodeOrderNotice,
  fromHex,
  LightClient,
  LightError,
  ListenerReader,
  ListenerSession,
  openAck,
  openBinding,
  openDescriptor,
  openKeyBundle,
  openReceipt,
  openTxAck,
  sealKeyBundle,
  signCommand,
  signPull,
  signReceipt,
  TxError,
  toHex,
} from '../../chain/index.js';
import {
  answersOrRefuses,
  canonicalValue,
  fuzz,
  mutatedBytes,
  mutatedCbor,
  mutatedCborMap,
} from '../support/fuzz.js';
import { projectRoot } from '../support/system.js';

const CODEC = {
  type: CodecError,
  codes: [
    'NON_CANONICAL',
    'TRUNCATED',
    'TRAILING_BYTES',
    'UNSUPPORTED',
    'INVALID_UTF8',
    'TOO_DEEP',
    'OUT_OF_RANGE',
    'SHAPE',
  ],
};
const CRYPTO = {
  type: CryptoError,
  codes: [
    'BAD_KEY',
    'BAD_LENGTH',
    'AUTH_FAILED',
    'BAD_SIGNATURE',
    'LOW_ORDER_POINT',
    'BAD_PROOF',
    'WORKER_FAILED',
  ],
};
const LIGHT = {
  type: LightError,
  codes: [
    'MALFORMED',
    'WRONG_CHAIN',
    'STALE_CHECKPOINT',
    'STALE_UPDATE',
    'TIME_NOT_INCREASING',
    'BAD_CERTIFICATE',
    'UNPROVEN_SCHEDULE',
    'UNTRUSTED_SCHEDULE',
    'WRONG_PROOF',
    'PROOF_NOT_AT_HEAD',
  ],
};
const TX = {
  type: TxError,
  codes: [
    'MALFORMED',
    'WRONG_CHAIN',
    'BAD_SIGNATURE',
    'BAD_NONCE',
    'INSUFFICIENT_FUNDS',
    'INSUFFICIENT_MANA',
    'NOT_ISSUER',
    'NOT_OWNER',
    'NOT_PARTY',
    'UNKNOWN',
    'DUPLICATE',
    'LIMIT',
    'CLOSED',
    'EXPIRED',
    'LOCKED',
    'REVOKED',
    'OUT_OF_SCOPE',
    'BAD_EVIDENCE',
    'NOT_YET',
  ],
};
const WIRE_CODES = ['NOT_CBOR', 'BAD_FIELD', 'WRONG_VEHICLE', 'UNKNOWN_KEY', 'BAD_SIGNATURE'];

const vectors = (name: string) =>
  JSON.parse(readFileSync(join(projectRoot(), 'test', 'vectors', name), 'utf8')) as Record<string, never>;
const link = vectors('device-link.json') as unknown as {
  vehicleId: string;
  nodePublicKey: string;
  txEnvelope: string;
  ack: { bytes: string };
  txAck: { bytes: string };
};
const light = vectors('chain-light.json') as unknown as {
  checkpoint: { bytes: string };
  scheduleChange: { bytes: string };
  activation: { bytes: string };
  stateProof: { bytes: string };
};
const txv = vectors('chain-tx.json') as unknown as {
  txs: { signed: string }[];
  chain: { block1: string };
};
const data = vectors('data-keys.json') as unknown as {
  chunks: { bytes: string }[];
  descriptor: { bytes: string };
  binding: string;
};

const device = new Ed25519Signer(new Uint8Array(32).fill(0x11));
const grantee = new Ed25519Signer(new Uint8Array(32).fill(0x22));
const GRANTEE_SECRET = new Uint8Array(32).fill(0x22);
const grantId = 'ab'.repeat(32);

describe('device-link payloads (results, never exceptions)', () => {
  const chunkEnvelopes = [
    encodeChunkEnvelope({
      id: 'cd'.repeat(32),
      stream: 'drive',
      seq: 3,
      bytes: fromHex(data.chunks[0]!.bytes),
      prev: 2,
    }),
    encodeChunkEnvelope({ id: 'ef'.repeat(32), stream: 'x', seq: 0, bytes: new Uint8Array(4) }),
  ];
  const trust = { vehicleId: link.vehicleId, nodeKeys: [fromHex(link.nodePublicKey)] };
  const cases: [string, Uint8Array[], (b: Uint8Array) => { ok: boolean; code?: string }][] = [
    ['up/chunk envelope', chunkEnvelopes, decodeChunkEnvelope],
    [
      'up/descriptor envelope',
      [encodeDescriptorEnvelope({ id: 'cd'.repeat(32), bytes: fromHex(data.descriptor.bytes) })],
      decodeDescriptorEnvelope,
    ],
    ['up/tx envelope', [fromHex(link.txEnvelope)], decodeTxEnvelope],
    ['down/ack', [fromHex(link.ack.bytes)], decodeAck],
    ['down/ack, opened against the trusted node keys', [fromHex(link.ack.bytes)], (b) => openAck(b, trust)],
    ['down/tx-ack', [fromHex(link.txAck.bytes)], decodeTxAck],
    [
      'down/tx-ack, opened against the trusted node keys',
      [fromHex(link.txAck.bytes)],
      (b) => openTxAck(b, trust),
    ],
  ];
  for (const [name, samples, decode] of cases)
    it(`${name}: a value or a refusal with a code of WireErrorCode`, () => {
      fuzz(300, [mutatedCborMap(samples)], (bytes) => {
        const r = decode(bytes);
        if (!r.ok) expect(WIRE_CODES).toContain(r.code);
      });
    });
});

describe('canonical CBOR wires (typed errors)', () => {
  const command = signCommand(
    {
      grantId,
      command: 'flash-lights',
      args: { count: 2, onMs: 300 },
      nonce: '01'.repeat(16),
      issuedMs: 1_700_000_000_000,
    },
    grantee,
  );
  const pull = signPull({ grantId, nonce: '02'.repeat(16), issuedMs: 1_700_000_000_000 }, grantee);
  const receipt = signReceipt(
    {
      grantId,
      commandId: 'cd'.repeat(32),
      outcome: 'refused',
      reason: 'INTERLOCK',
      detail: 'moving',
      framesWritten: 0,
      atMs: 1_700_000_000_001,
    },
    device,
  );
  const session = new ListenerSession(grantId, toHex(grantee.publicKey), device, 7);
  const listened = [
    session.seal(
      encodeListenerPayload(1000, [
        ['Vehicle.Speed', 12.5, 1000],
        ['Vehicle.Cabin.Door.Row1.DriverSide.IsLocked', true, 990],
      ]),
    ),
    session.seal(encodeListenerPayload(2000, []), '03'.repeat(16)),
  ];
  const reader = new ListenerReader(GRANTEE_SECRET, [device.publicKey]);
  const proof = decodeStateProof(fromHex(light.stateProof.bytes));
  const notice = encodeOrderNotice({
    orderId: 'aa'.repeat(32),
    descriptorId: 'bb'.repeat(32),
    orderProof: proof,
    descriptorProof: proof,
    signedDescriptor: fromHex(data.descriptor.bytes),
  });
  const buyer = new Ed25519Signer(new Uint8Array(32).fill(0x33));
  const orderId = new Uint8Array(32).fill(0x44);
  const bundle = sealKeyBundle(
    [{ stream: 'drive', dataClass: 'owner', epoch: 3, key: new Uint8Array(32).fill(5) }],
    buyer.publicKey,
    orderId,
  );
  const body = encodeChunkBody([
    { path: 'Vehicle.Speed', tUs: 1_000_000, value: 12.5 },
    { path: 'Vehicle.Speed', tUs: 2_000_000, value: 13 },
    { path: 'Vehicle.IsMoving', tUs: 1_500_000, value: true },
    { path: 'Vehicle.VIN', tUs: 1_000_000, value: 'WVW' },
  ] as never).body;

  const cases: [
    string,
    Uint8Array[],
    (b: Uint8Array) => unknown,
    Parameters<typeof answersOrRefuses>[1],
    number,
  ][] = [
    ['control command', [command], decodeCommand, [CODEC], 400],
    ['listen pull request', [pull], decodePull, [CODEC], 300],
    ['control receipt', [receipt], (b) => openReceipt(b, device.publicKey), [CODEC, CRYPTO], 300],
    ['listener message', listened, (b) => reader.open(b), [CODEC, CRYPTO], 300],
    ['order notice', [notice], decodeOrderNotice, [CODEC, LIGHT], 200],
    [
      'signed transaction',
      txv.txs.slice(0, 12).map((t) => fromHex(t.signed)),
      decodeSignedTx,
      [CODEC, TX],
      500,
    ],
    [
      'block',
      [
        encodeCanonical([
          decodeCanonical(fromHex(txv.chain.block1)),
          txv.txs.slice(0, 3).map((t) => fromHex(t.signed)),
        ]),
      ],
      decodeBlock,
      [CODEC, TX],
      200,
    ],
    ['light checkpoint', [fromHex(light.checkpoint.bytes)], decodeCheckpoint, [LIGHT], 300],
    [
      'light update',
      [fromHex(light.scheduleChange.bytes), fromHex(light.activation.bytes)],
      decodeUpdate,
      [LIGHT],
      300,
    ],
    ['light state proof', [fromHex(light.stateProof.bytes)], decodeStateProof, [LIGHT], 300],
    [
      'sealed chunk (decode)',
      data.chunks.map((c) => fromHex(c.bytes)),
      decodeSealedChunk,
      [{ type: ChunkCheckError, codes: ['MALFORMED'] }],
      300,
    ],
    [
      'sealed chunk (check signature and hash)',
      data.chunks.map((c) => fromHex(c.bytes)),
      (b) => checkSealedChunk(b),
      [
        { type: ChunkCheckError, codes: ['MALFORMED', 'BAD_SIGNATURE', 'CIPHERTEXT_HASH', 'WRONG_DEVICE'] },
        CRYPTO,
      ],
      200,
    ],
    ['chunk body', [body], decodeChunkBody, [{ type: ChunkFormatError }], 300],
    [
      'signed descriptor',
      [fromHex(data.descriptor.bytes)],
      openDescriptor,
      [{ type: DescriptorError, codes: ['MALFORMED', 'BAD_SIGNATURE'] }, CODEC, CRYPTO],
      300,
    ],
    [
      'device binding',
      [fromHex(data.binding)],
      openBinding,
      [{ type: BindingError, codes: ['MALFORMED', 'BAD_SIGNATURE', 'WRONG_DEVICE'] }, CODEC, CRYPTO],
      300,
    ],
    [
      'key bundle',
      [bundle],
      (b) => openKeyBundle(b, new Uint8Array(32).fill(0x33), orderId),
      [CODEC, CRYPTO],
      200,
    ],
  ];
  for (const [name, samples, decode, allowed, runs] of cases)
    it(`${name}: a value or its typed error`, () => {
      const arb =
        name === 'chunk body' || name === 'key bundle' ? mutatedBytes(samples) : mutatedCbor(samples);
      fuzz(runs, [arb], (bytes) => {
        answersOrRefuses(() => decode(bytes), allowed);
      });
    });

  it('state records, certificates and genesis: a value or a CodecError from any canonical value', () => {
    const decoders = [
      decodeAccount,
      decodeGrant,
      decodeVehicle,
      decodeAgreement,
      decodeAnchoredDescriptor,
      decodeOrder,
      decodeCertificate,
      decodeGenesis,
    ];
    fuzz(300, [canonicalValue], (v) => {
      const bytes = encodeCanonical(v);
      for (const d of decoders) answersOrRefuses(() => d(bytes), [CODEC, TX, CRYPTO]);
    });
  });
});

describe('light client', () => {
  it('applies mutated updates: accepted or refused with a LightError, never an exception', () => {
    const checkpoint = decodeCheckpoint(fromHex(light.checkpoint.bytes));
    const updates = [fromHex(light.scheduleChange.bytes), fromHex(light.activation.bytes)];
    fuzz(150, [mutatedCbor(updates)], (bytes) => {
      const update = answersOrRefuses(() => decodeUpdate(bytes), [LIGHT]);
      if (update === undefined) return;
      const client = new LightClient({ checkpoint });
      const r = client.apply(update);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(LightError);
        expect(LIGHT.codes).toContain(r.error.code);
      }
    });
  });
});
