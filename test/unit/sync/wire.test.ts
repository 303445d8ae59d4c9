import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ackTopic,
  chunkTopic,
  decodeAck,
  decodeChunkEnvelope,
  encodeAck,
  encodeChunkEnvelope,
  vehicleOfChunkTopic,
} from '../../../chain/index.js';

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
      /found a map; expected an array of 32-byte chunk ids/,
    );
    expect(bad(decodeAck(Buffer.from([0x81, 0x41, 0x00])))).toMatch(/element 0: found a 1-byte byte string/);
    expect(() => encodeAck(['XYZ'])).toThrow(/64 lower-case hex/);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(typeof decodeChunkEnvelope(b).ok).toBe('boolean');
        expect(typeof decodeAck(b).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
