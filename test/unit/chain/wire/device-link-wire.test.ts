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
  encodeAck,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeTxAck,
  encodeTxEnvelope,
  MAX_ACK_IDS,
  parseUplinkTopic,
  txAckTopic,
  txTopic,
  txTopicFilter,
  vehicleOfChunkTopic,
} from '../../../../chain/index.js';

const ID = 'ab'.repeat(32);

describe('sync wire format', () => {
  it('round-trips a chunk envelope and an ack', () => {
    const env = { id: ID, stream: 'can0/ENGINE', seq: 42, bytes: Uint8Array.of(1, 2, 3) };
    const back = decodeChunkEnvelope(encodeChunkEnvelope(env));
    expect(back.ok && { ...back.value, bytes: [...back.value.bytes] }).toEqual({ ...env, bytes: [1, 2, 3] });
    expect(decodeAck(encodeAck([ID, 'cd'.repeat(32)]))).toEqual({ ok: true, value: [ID, 'cd'.repeat(32)] });
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
    expect(bad(decodeChunkEnvelope(encodeAck([ID])))).toMatch(/top level.*found an array/);
    expect(
      bad(
        decodeChunkEnvelope(
          encodeChunkEnvelope({ id: ID, stream: 's', seq: 1, bytes: Uint8Array.of() }).subarray(0, 10),
        ),
      ),
    ).toMatch(/not CBOR/);
    expect(bad(decodeAck(Buffer.from([0xa0])))).toMatch(
      /found a map; expected an array of 32-byte chunk or descriptor ids/,
    );
    expect(bad(decodeAck(Buffer.from([0x81, 0x41, 0x00])))).toMatch(/element 0: found a 1-byte byte string/);
    expect(() => encodeAck(['XYZ'])).toThrow(/64 lower-case hex/);
  });

  it('round-trips descriptor and transaction envelopes and transaction acks', () => {
    const d = decodeDescriptorEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(5, 6) }));
    expect(d.ok && { id: d.value.id, bytes: [...d.value.bytes] }).toEqual({ id: ID, bytes: [5, 6] });
    const t = decodeTxEnvelope(encodeTxEnvelope({ seq: 7, kind: 'descriptor', bytes: Uint8Array.of(1) }));
    expect(t.ok && { ...t.value, bytes: [...t.value.bytes] }).toEqual({
      seq: 7,
      kind: 'descriptor',
      bytes: [1],
    });
    // Every kind the agent queues goes up: descriptor, revoke, revoke-request, controlExec.
    for (const kind of ['revoke-request', 'controlExec']) {
      const k = decodeTxEnvelope(encodeTxEnvelope({ seq: 1, kind, bytes: Uint8Array.of(1) }));
      expect(k.ok && k.value.kind).toBe(kind);
    }
    expect(() => encodeTxEnvelope({ seq: 1, kind: 'no spaces', bytes: Uint8Array.of(1) })).toThrow(/tx kind/);
    expect(decodeTxAck(encodeTxAck([1, 2, 2 ** 40]))).toEqual({ ok: true, value: [1, 2, 2 ** 40] });
    expect(decodeTxAck(encodeTxAck([]))).toEqual({ ok: true, value: [] });
  });

  it('pins the descriptor and transaction envelope bytes and the transaction ack', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    // a2: map(2); 62 'id' 5820 bstr(32); 65 'bytes' 42 0102
    expect(hex(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(1, 2) }))).toBe(
      `a26269645820${'ab'.repeat(32)}6562797465734201 02`.replace(' ', ''),
    );
    // a3: map(3); 63 'seq' 18 2a; 64 'kind' 66 'revoke'; 65 'bytes' 41 ff
    expect(hex(encodeTxEnvelope({ seq: 42, kind: 'revoke', bytes: Uint8Array.of(0xff) }))).toBe(
      'a363736571182a646b696e64667265766f6b65656279746573' + '41ff',
    );
    // 83: array(3) of uints
    expect(hex(encodeTxAck([1, 24, 500]))).toBe('830118181901f4');
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
    expect(bad(decodeDescriptorEnvelope(encodeTxAck([1])))).toBe(
      "descriptor envelope: field '(top level)': found an array of 1; expected a map with id, bytes",
    );
    expect(
      bad(decodeDescriptorEnvelope(encodeTxEnvelope({ seq: 1, kind: 'x', bytes: Uint8Array.of(1) }))),
    ).toBe("descriptor envelope: field 'id': found nothing; expected a 32-byte byte string");
    expect(
      bad(decodeDescriptorEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of() }))),
    ).toMatch(/field 'bytes': found a 0-byte byte string; expected a byte string of 1 to/);
    expect(bad(decodeTxEnvelope(encodeDescriptorEnvelope({ id: ID, bytes: Uint8Array.of(1) })))).toBe(
      "tx envelope: field 'seq': found nothing; expected an unsigned integer",
    );
    expect(() => encodeTxEnvelope({ seq: 1, kind: 'Bad Kind', bytes: Uint8Array.of(1) })).toThrow(/tx kind/);
    expect(() => encodeTxEnvelope({ seq: -1, kind: 'x', bytes: Uint8Array.of(1) })).toThrow(/tx seq/);
    expect(bad(decodeTxAck(encodeAck([ID])))).toBe(
      'tx ack: element 0: found a 32-byte byte string; expected an unsigned integer',
    );
    expect(bad(decodeTxAck(Buffer.from([0xa0])))).toBe(
      'tx ack: found a map; expected an array of outbox seqs',
    );
    expect(bad(decodeTxAck(encodeTxAck(Array.from({ length: MAX_ACK_IDS + 1 }, (_, i) => i))))).toMatch(
      /seqs; expected at most/,
    );
    expect(bad(decodeTxAck(Buffer.from([0x81, 0x20])))).toMatch(/element 0: found number -1/);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(typeof decodeChunkEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeAck(b).ok).toBe('boolean');
        expect(typeof decodeDescriptorEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeTxEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeTxAck(b).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
