import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalValue,
  decodeCheckpoint,
  decodeStateProof,
  decodeUpdate,
  encodeCanonical,
  encodeCheckpoint,
  encodeStateProof,
  encodeUpdate,
  headerValue,
  LightError,
  MAX_UPDATE_BYTES,
  proveKey,
  stateKey,
} from '../../../../chain/index.js';
import { buildLightChain, checkpointAt, updateAt } from '../../../support/light-chain.js';

const chain = buildLightChain({ producers: 4, electAt: [2], height: 9, roundBlocks: 4 });

function refusal(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof LightError ? `${e.code}: ${e.message}` : `not a LightError: ${String(e)}`;
  }
}

describe('light client encodings', () => {
  it('round-trip an update with a schedule record and proofs, a checkpoint and a state proof', () => {
    const u = updateAt(chain, 5, [stateKey.supply(), stateKey.grant('00'.repeat(32))]);
    expect(u.schedule!.record.next).not.toEqual(u.schedule!.record.schedule);
    const bytes = encodeUpdate(u);
    expect(decodeUpdate(bytes)).toEqual(u);
    expect(encodeUpdate(decodeUpdate(bytes))).toEqual(bytes);
    const plain = { ...u, schedule: null };
    expect(decodeUpdate(encodeUpdate(plain))).toEqual(plain);
    const cp = checkpointAt(chain, 5);
    expect(cp.next).toEqual(chain.active[8]);
    expect(decodeCheckpoint(encodeCheckpoint(cp))).toEqual(cp);
    const p = proveKey(chain.states[3]!, stateKey.supply());
    const sp = { height: 3, proof: { key: p.key, value: p.value, proof: p.proof } };
    expect(decodeStateProof(encodeStateProof(sp))).toEqual(sp);
  });

  it('refuse garbage naming the offset or field and what was expected', () => {
    const u = updateAt(chain, 3);
    const good = encodeUpdate(u);
    const hv = headerValue(u.header) as readonly CanonicalValue[];
    const vote = (sig: Uint8Array) => [Buffer.from(u.votes[0]!.producer, 'hex'), sig];
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 3), /MALFORMED: update: offset \d+: .*/],
      [Uint8Array.of(...good, 0), /MALFORMED: update: offset \d+: 1 byte\(s\) after the value/],
      [encodeCanonical([3, hv, [], null, []]), /update\.version: expected version 2/],
      [encodeCanonical([1, hv, [], null, []]), /update\.version: version 1 predates schedule records/],
      [
        encodeCanonical([2, hv, [vote(new Uint8Array(63))], null, []]),
        /update\.votes\[0\]\.signature: expected 64 bytes, got 63/,
      ],
      [encodeCanonical([2, hv.slice(1), [], null, []]), /update\.header: expected 8 items, got 7/],
      [
        encodeCanonical([
          2,
          hv,
          [],
          [
            [0, 0, [], []],
            [0, new Uint8Array(0), [], null],
          ],
          [],
        ]),
        /update\.schedule\.record\.schedule: expected 1\.\.64 producers, got 0/,
      ],
      [
        encodeCanonical([
          2,
          hv,
          [],
          [
            [0, -1, [], []],
            [0, new Uint8Array(0), [], null],
          ],
          [],
        ]),
        /update\.schedule\.record\.round: expected an integer/,
      ],
      [
        encodeCanonical([2, hv, [], null, [['k', null, [3, new Uint8Array(0), [], null]]]]),
        /update\.proofs\[0\]\.proof\.bitmap: expected 1 bytes, got 0/,
      ],
      [
        encodeCanonical([
          2,
          hv,
          [],
          null,
          [['k', null, [1, new Uint8Array(1), [new Uint8Array(32), new Uint8Array(32)], null]]],
        ]),
        /update\.proofs\[0\]\.proof\.siblings: expected at most 1 siblings, got 2/,
      ],
      [
        encodeCanonical([2, hv, [], null, Array.from({ length: 33 }, () => null)]),
        /update\.proofs: expected at most 32 proofs, got 33/,
      ],
      [new Uint8Array(MAX_UPDATE_BYTES + 1), /update: 65537 bytes, expected at most 65536/],
      [Uint8Array.of(0xa0), /MALFORMED: update: offset 0: .*map/],
    ];
    for (const [bytes, expected] of cases) expect(refusal(() => decodeUpdate(bytes))).toMatch(expected);
    const sched = chain.active[3]!.map((a) => new Uint8Array(Buffer.from(a, 'hex')));
    const rounds = [u.header.timeMs - 1500, 500, 4];
    expect(refusal(() => decodeCheckpoint(encodeCanonical([2, hv, [], sched, rounds])))).toMatch(
      /checkpoint\.schedule: expected 1\.\.64/,
    );
    expect(refusal(() => decodeCheckpoint(encodeCanonical([2, hv, sched, null, rounds])))).toMatch(
      /checkpoint\.next: expected an array/,
    );
    // A version 1 checkpoint (no round parameters) names what to do.
    expect(refusal(() => decodeCheckpoint(encodeCanonical([1, hv, sched, null])))).toMatch(
      /checkpoint\.version: version 1 predates .*take a new checkpoint/,
    );
    expect(refusal(() => decodeCheckpoint(encodeCanonical([2, hv, sched, sched])))).toMatch(
      /checkpoint: expected 5 items, got 4/,
    );
    expect(
      refusal(() => decodeCheckpoint(encodeCanonical([2, hv, sched, sched, [u.header.timeMs + 1, 500, 4]]))),
    ).toMatch(/checkpoint\.rounds\.genesisTimeMs: expected an integer in 0\.\.\d+/);
    expect(refusal(() => decodeCheckpoint(encodeCanonical([2, hv, sched, sched, [0, 0, 4]])))).toMatch(
      /checkpoint\.rounds: expected a slot length and a round of at least 1/,
    );
    expect(refusal(() => decodeStateProof(encodeCanonical([2, -1, null])))).toMatch(
      /stateProof\.height: expected an integer/,
    );
  });

  it('never throw anything but LightError on random or mutated bytes', () => {
    const good = encodeUpdate(updateAt(chain, 2, [stateKey.supply()]));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(refusal(() => decodeUpdate(bytes))).not.toMatch(/^not a LightError/);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, b) => {
        const m = good.slice();
        m[at] = b;
        expect(refusal(() => decodeUpdate(m))).not.toMatch(/^not a LightError/);
      }),
      { numRuns: 500 },
    );
  });
});
