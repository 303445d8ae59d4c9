import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ackTopic,
  chunkTopic,
  decodeAck,
  decodeChunkEnvelope,
  decodeDescriptorEnvelope,
  decodeTxAck,
  decodeTxEnvelope,
  descriptorTopic,
  descriptorTopicFilter,
  Ed25519Signer,
  encodeAck,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeTxAck,
  encodeTxEnvelope,
  MAX_ACK_IDS,
  openAck,
  openTxAck,
  outboxTxId,
  parseUplinkTopic,
  signTxEnvelope,
  txAckTopic,
  txTopic,
  txTopicFilter,
  vehicleOfChunkTopic,
  verifyTxEnvelope,
} from '../../../../chain/index.js';

const ID = 'ab'.repeat(32);
const NODE = new Ed25519Signer(new Uint8Array(32).fill(1));
const DEVICE = new Ed25519Signer(new Uint8Array(32).fill(2));
const INTRUDER = new Ed25519Signer(new Uint8Array(32).fill(3));
const TRUST = { vehicleId: 'car-1', nodeKeys: [NODE.publicKey] };
const SIG = new Uint8Array(64);
const cbor = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});

describe('sync wire format', () => {
  it('round-trips a chunk envelope and an ack', () => {
    const env = { id: ID, stream: 'can0/ENGINE', seq: 42, bytes: Uint8Array.of(1, 2, 3) };
    const back = decodeChunkEnvelope(encodeChunkEnvelope(env));
    expect(back.ok && { ...back.value, bytes: [...back.value.bytes] }).toEqual({ ...env, bytes: [1, 2, 3] });
    const ack = openAck(encodeAck('car-1', [ID, 'cd'.repeat(32)], NODE), TRUST);
    expect(ack.ok && ack.value.ids).toEqual([ID, 'cd'.repeat(32)]);
    expect(ack.ok && [...ack.value.nodeKey]).toEqual([...NODE.publicKey]);
  });

  it('pins the envelope bytes (a map of id, stream, seq, bytes with a 32-byte id)', () => {
    const hex = Buffer.from(
      encodeChunkEnvelope({ id: ID, stream: 's', seq: 1, bytes: Uint8Array.of(9) }),
    ).toString('hex');
    // a4: map(4); 62 'id' 5820 bstr(32); 66 'stream' 61 's'; 63 'seq' 01; 65 'bytes' 41 09
    expect(hex).toBe(
      `a46269645820${'ab'.repeat(32)}6673747265616d6173637365710165627974657341 09`.replace(' ', ''),
    );
  });

  it('names the topics and reads the vehicle back', () => {
    expect(chunkTopic('qood/v1', 'car-1')).toBe('qood/v1/car-1/up/chunk');
    expect(ackTopic('qood/v1', 'car-1')).toBe('qood/v1/car-1/down/ack');
    expect(vehicleOfChunkTopic('qood/v1', 'qood/v1/car-1/up/chunk')).toBe('car-1');
    expect(vehicleOfChunkTopic('qood/v1', 'qood/v1/a/b/up/chunk')).toBeUndefined();
    expect(vehicleOfChunkTopic('qood/v1', 'qood/v1/car-1/down/ack')).toBeUndefined();
  });

  it('says what is wrong with a bad envelope or ack', () => {
    const bad = (x: { ok: boolean; error?: string }) => (x.ok ? 'accepted' : x.error);
    expect(bad(decodeChunkEnvelope(Buffer.from('hello')))).toMatch(/^chunk envelope: not CBOR \(5 bytes\)/);
    expect(bad(decodeChunkEnvelope(cbor.encode([ID])))).toMatch(/top level.*found an array/);
    expect(
      bad(
        decodeChunkEnvelope(
          encodeChunkEnvelope({ id: ID, stream: 's', seq: 1, bytes: Uint8Array.of() }).subarray(0, 10),
        ),
      ),
    ).toMatch(/not CBOR/);
    expect(bad(decodeAck(Buffer.from([0xa0])))).toBe(
      "ack: field 'v': found nothing; expected a vehicle id of 1 to 256 characters",
    );
    // The old unsigned form (an array of ids) is not an ack any more.
    expect(bad(decodeAck(cbor.encode([Buffer.alloc(32)])))).toBe(
      "ack: field '(top level)': found an array of 1; expected a map with v, ids, key, sig",
    );
    const shaped = { v: 'car-1', ids: [Buffer.alloc(1)], key: NODE.publicKey, sig: SIG };
    expect(bad(decodeAck(cbor.encode(shaped)))).toMatch(/ids element 0: found a 1-byte byte string/);
    expect(bad(decodeAck(cbor.encode({ ...shaped, key: Buffer.alloc(31) })))).toMatch(/field 'key'/);
    expect(bad(decodeAck(cbor.encode({ ...shaped, sig: Buffer.alloc(63) })))).toMatch(/field 'sig'/);
    expect(bad(decodeAck(cbor.encode({ ...shaped, v: 'x'.repeat(257) })))).toMatch(/field 'v'/);
    expect(() => encodeAck('car-1', ['XYZ'], NODE)).toThrow(/64 lower-case hex/);
    expect(() => encodeAck('', [ID], NODE)).toThrow(/vehicle id/);
  });

  it('round-trips descriptor and transaction envelopes and transaction acks', () => {
    const d = decodeDescriptorEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(5, 6) }));
    expect(d.ok && { id: d.value.id, bytes: [...d.value.bytes] }).toEqual({ id: ID, bytes: [5, 6] });
    const signed = signTxEnvelope('car-1', { seq: 7, kind: 'descriptor', bytes: Uint8Array.of(1) }, DEVICE);
    const t = decodeTxEnvelope(encodeTxEnvelope(signed));
    expect(t.ok && { ...t.value, bytes: [...t.value.bytes], sig: t.value.sig.length }).toEqual({
      seq: 7,
      kind: 'descriptor',
      bytes: [1],
      sig: 64,
    });
    expect(t.ok && verifyTxEnvelope('car-1', t.value, DEVICE.publicKey)).toBe(true);
    // Every kind the agent queues goes up: descriptor, revoke, revoke-request, controlExec.
    for (const kind of ['revoke-request', 'controlExec']) {
      const k = decodeTxEnvelope(
        encodeTxEnvelope(signTxEnvelope('car-1', { seq: 1, kind, bytes: Uint8Array.of(1) }, DEVICE)),
      );
      expect(k.ok && k.value.kind).toBe(kind);
    }
    expect(() =>
      signTxEnvelope('car-1', { seq: 1, kind: 'no spaces', bytes: Uint8Array.of(1) }, DEVICE),
    ).toThrow(/tx kind/);
    const entries = [1, 2, 2 ** 40].map((seq) => ({ seq, id: ID }));
    const a = openTxAck(encodeTxAck('car-1', entries, NODE), TRUST);
    expect(a.ok && a.value.txs).toEqual(entries);
    const empty = openTxAck(encodeTxAck('car-1', [], NODE), TRUST);
    expect(empty.ok && empty.value.txs).toEqual([]);
  });

  it('pins the descriptor envelope bytes (signed bytes: test/vectors/device-link.json)', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    // a2: map(2); 62 'id' 5820 bstr(32); 65 'bytes' 42 0102
    expect(hex(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(1, 2) }))).toBe(
      `a26269645820${'ab'.repeat(32)}6562797465734201 02`.replace(' ', ''),
    );
    // a4: map(4); 63 'seq' 18 2a; 64 'kind' 66 'revoke'; 65 'bytes' 41 ff; 63 'sig' 5840 bstr(64)
    expect(hex(encodeTxEnvelope({ seq: 42, kind: 'revoke', bytes: Uint8Array.of(0xff), sig: SIG }))).toBe(
      `a463736571182a646b696e64667265766f6b65656279746573${'41ff'}63736967 5840${'00'.repeat(64)}`.replace(
        ' ',
        '',
      ),
    );
  });

  it('names the descriptor and transaction topics and parses any uplink topic', () => {
    expect(descriptorTopic('qood/v1', 'car-1')).toBe('qood/v1/car-1/up/descriptor');
    expect(txTopic('qood/v1', 'car-1')).toBe('qood/v1/car-1/up/tx');
    expect(txAckTopic('qood/v1', 'car-1')).toBe('qood/v1/car-1/down/tx-ack');
    expect(descriptorTopicFilter('qood/v1')).toBe('qood/v1/+/up/descriptor');
    expect(txTopicFilter('p')).toBe('p/+/up/tx');
    expect(parseUplinkTopic('qood/v1', 'qood/v1/car-1/up/descriptor')).toEqual({
      vehicleId: 'car-1',
      kind: 'descriptor',
    });
    expect(parseUplinkTopic('qood/v1', 'qood/v1/car-1/up/tx')).toEqual({ vehicleId: 'car-1', kind: 'tx' });
    for (const t of [
      'qood/v1/car-1/up/grant',
      'qood/v1//up/tx',
      'qood/v2/car-1/up/tx',
      'qood/v1/car-1/down/tx',
    ])
      expect(parseUplinkTopic('qood/v1', t)).toBeUndefined();
  });

  it('says what is wrong with a bad descriptor or transaction envelope or transaction ack', () => {
    const bad = (x: { ok: boolean; error?: string }) => (x.ok ? 'accepted' : x.error);
    expect(bad(decodeDescriptorEnvelope(Buffer.from('hi')))).toMatch(
      /^descriptor envelope: not CBOR \(2 bytes\)/,
    );
    expect(bad(decodeDescriptorEnvelope(cbor.encode([1])))).toBe(
      "descriptor envelope: field '(top level)': found an array of 1; expected a map with id, bytes",
    );
    expect(
      bad(
        decodeDescriptorEnvelope(encodeTxEnvelope({ seq: 1, kind: 'x', bytes: Uint8Array.of(1), sig: SIG })),
      ),
    ).toBe("descriptor envelope: field 'id': found nothing; expected a 32-byte byte string");
    expect(
      bad(decodeDescriptorEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of() }))),
    ).toMatch(/field 'bytes': found a 0-byte byte string; expected a byte string of 1 to/);
    expect(bad(decodeTxEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(1) })))).toBe(
      "tx envelope: field 'seq': found nothing; expected an unsigned integer",
    );
    expect(() => encodeTxEnvelope({ seq: 1, kind: 'Bad Kind', bytes: Uint8Array.of(1), sig: SIG })).toThrow(
      /tx kind/,
    );
    expect(() => encodeTxEnvelope({ seq: -1, kind: 'x', bytes: Uint8Array.of(1), sig: SIG })).toThrow(
      /tx seq/,
    );
    expect(() =>
      encodeTxEnvelope({ seq: 1, kind: 'x', bytes: Uint8Array.of(1), sig: SIG.subarray(1) }),
    ).toThrow(/tx sig/);
    // The old unsigned envelope is refused: it says nothing of who queued it.
    expect(bad(decodeTxEnvelope(cbor.encode({ seq: 1, kind: 'revoke', bytes: Buffer.from([1]) })))).toBe(
      "tx envelope: field 'sig': found nothing; expected the device's 64-byte signature",
    );
    const shaped = { v: 'car-1', txs: [[1, Buffer.alloc(32)]], key: NODE.publicKey, sig: SIG };
    expect(bad(decodeTxAck(cbor.encode({ ...shaped, txs: [1] })))).toBe(
      'tx ack: txs element 0: found number 1; expected [an unsigned integer, a 32-byte byte string]',
    );
    expect(bad(decodeTxAck(cbor.encode({ ...shaped, txs: [[-1, Buffer.alloc(32)]] })))).toMatch(
      /txs element 0/,
    );
    expect(bad(decodeTxAck(cbor.encode({ ...shaped, txs: 'x' })))).toMatch(/field 'txs'/);
    // The old unsigned form (an array of seqs) is not a tx ack any more.
    expect(bad(decodeTxAck(cbor.encode([1, 2])))).toBe(
      "tx ack: field '(top level)': found an array of 2; expected a map with v, txs, key, sig",
    );
    const many = Array.from({ length: MAX_ACK_IDS + 1 }, () => [1, Buffer.alloc(32)]);
    expect(bad(decodeTxAck(cbor.encode({ ...shaped, txs: many })))).toMatch(/entries; expected at most 4096/);
    expect(() =>
      encodeTxAck(
        'car-1',
        many.map(() => ({ seq: 1, id: ID })),
        NODE,
      ),
    ).toThrow(/at most/);
    expect(() => encodeTxAck('car-1', [{ seq: 1, id: 'x' }], NODE)).toThrow(/tx id/);
  });

  it('an ack is believed only when a trusted node key signed it for this vehicle', () => {
    const code = (x: { ok: boolean; code?: string }) => (x.ok ? 'accepted' : x.code);
    const ids = [ID];
    expect(code(openAck(encodeAck('car-1', ids, NODE), TRUST))).toBe('accepted');
    // Signed by the node, but for another vehicle: a replay onto this car's topic.
    expect(code(openAck(encodeAck('car-2', ids, NODE), TRUST))).toBe('WRONG_VEHICLE');
    // Signed by someone else, under their own key.
    expect(code(openAck(encodeAck('car-1', ids, INTRUDER), TRUST))).toBe('UNKNOWN_KEY');
    // No trusted key at all: nothing is believed.
    expect(code(openAck(encodeAck('car-1', ids, NODE), { vehicleId: 'car-1', nodeKeys: [] }))).toBe(
      'UNKNOWN_KEY',
    );
    // Naming the node's key with the intruder's signature; or the node's signature over another list.
    const forged = {
      v: 'car-1',
      ids: [Buffer.from(ID, 'hex')],
      key: NODE.publicKey,
      sig: INTRUDER.sign(Uint8Array.of(1)),
    };
    expect(code(openAck(cbor.encode(forged), TRUST))).toBe('BAD_SIGNATURE');
    const real = decodeAck(encodeAck('car-1', ['cd'.repeat(32)], NODE));
    const spliced = { ...forged, sig: real.ok ? real.value.sig : SIG };
    expect(code(openAck(cbor.encode(spliced), TRUST))).toBe('BAD_SIGNATURE');
    expect(code(openAck(Buffer.from('nope'), TRUST))).toBe('NOT_CBOR');
    expect(code(openAck(cbor.encode([Buffer.from(ID, 'hex')]), TRUST))).toBe('BAD_FIELD');
    // A tx ack's signature does not make an ack (the type is signed), nor the other way round.
    const txAck = decodeTxAck(encodeTxAck('car-1', [{ seq: 1, id: ID }], NODE));
    const asAck = {
      v: 'car-1',
      ids: [Buffer.from(ID, 'hex')],
      key: NODE.publicKey,
      sig: txAck.ok ? txAck.value.sig : SIG,
    };
    expect(code(openAck(cbor.encode(asAck), TRUST))).toBe('BAD_SIGNATURE');
  });

  it('a tx ack is believed only when a trusted node key signed it for this vehicle and these record ids', () => {
    const code = (x: { ok: boolean; code?: string }) => (x.ok ? 'accepted' : x.code);
    const tx = { seq: 3, kind: 'revoke', bytes: Uint8Array.of(7) };
    const entries = [{ seq: 3, id: outboxTxId('car-1', tx) }];
    expect(code(openTxAck(encodeTxAck('car-1', entries, NODE), TRUST))).toBe('accepted');
    expect(code(openTxAck(encodeTxAck('car-2', entries, NODE), TRUST))).toBe('WRONG_VEHICLE');
    expect(code(openTxAck(encodeTxAck('car-1', entries, INTRUDER), TRUST))).toBe('UNKNOWN_KEY');
    const real = decodeTxAck(encodeTxAck('car-1', entries, NODE));
    const otherId = {
      v: 'car-1',
      txs: [[3, Buffer.alloc(32)]],
      key: NODE.publicKey,
      sig: real.ok ? real.value.sig : SIG,
    };
    expect(code(openTxAck(cbor.encode(otherId), TRUST))).toBe('BAD_SIGNATURE');
    const otherSeq = { ...otherId, txs: [[4, Buffer.from(entries[0]!.id, 'hex')]] };
    expect(code(openTxAck(cbor.encode(otherSeq), TRUST))).toBe('BAD_SIGNATURE');
  });

  it('a record id names vehicle, seq, kind and bytes, and only the device key verifies its envelope', () => {
    const tx = { seq: 3, kind: 'revoke', bytes: Uint8Array.of(7) };
    const id = outboxTxId('car-1', tx);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    for (const other of [
      outboxTxId('car-2', tx),
      outboxTxId('car-1', { ...tx, seq: 4 }),
      outboxTxId('car-1', { ...tx, kind: 'controlExec' }),
      outboxTxId('car-1', { ...tx, bytes: Uint8Array.of(8) }),
    ])
      expect(other).not.toBe(id);
    const e = signTxEnvelope('car-1', tx, DEVICE);
    expect(verifyTxEnvelope('car-1', e, DEVICE.publicKey)).toBe(true);
    expect(verifyTxEnvelope('car-2', e, DEVICE.publicKey)).toBe(false);
    expect(verifyTxEnvelope('car-1', { ...e, seq: 4 }, DEVICE.publicKey)).toBe(false);
    expect(verifyTxEnvelope('car-1', { ...e, bytes: Uint8Array.of(8) }, DEVICE.publicKey)).toBe(false);
    expect(verifyTxEnvelope('car-1', signTxEnvelope('car-1', tx, INTRUDER), DEVICE.publicKey)).toBe(false);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(typeof decodeChunkEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeAck(b).ok).toBe('boolean');
        expect(typeof decodeDescriptorEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeTxEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeTxAck(b).ok).toBe('boolean');
        expect(typeof openAck(b, TRUST).ok).toBe('boolean');
        expect(typeof openTxAck(b, TRUST).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
