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

const chain = buildLightChain({ producers: 4, electAt: [2], height: 4, roundBlocks: 4 });

function refusal(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof LightError ? `${e.code}: ${e.message}` : `not a LightError: ${String(e)}`;
  }
}

describe('light client encodings', () => {
  it('round-trip an update with a schedule change and proofs, a checkpoint and a state proof', () => {
    const u = updateAt(chain, 2, [stateKey.supply(), stateKey.grant('00'.repeat(32))]);
    expect(u.scheduleChange).not.toBeNull();
    const bytes = encodeUpdate(u);
    expect(decodeUpdate(bytes)).toEqual(u);
    expect(encodeUpdate(decodeUpdate(bytes))).toEqual(bytes);
    const cp = checkpointAt(chain, 3);
    expect(decodeCheckpoint(encodeCheckpoint(cp))).toEqual({ ...cp, next: null });
    const withNext = { ...cp, next: { electedAt: 2, schedule: chain.active[4]! } };
    expect(decodeCheckpoint(encodeCheckpoint(withNext))).toEqual(withNext);
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
      [encodeCanonical([2, hv, [], null, []]), /update\.version: expected version 1/],
      [
        encodeCanonical([1, hv, [vote(new Uint8Array(63))], null, []]),
        /update\.votes\[0\]\.signature: expected 64 bytes, got 63/,
      ],
      [encodeCanonical([1, hv.slice(1), [], null, []]), /update\.header: expected 8 items, got 7/],
      [
        encodeCanonical([1, hv, [], [[], [0, new Uint8Array(0), [], null]], []]),
        /update\.schedule\.producers: expected 1\.\.64 producers, got 0/,
      ],
      [
        encodeCanonical([1, hv, [], null, [['k', null, [3, new Uint8Array(0), [], null]]]]),
        /update\.proofs\[0\]\.proof\.bitmap: expected 1 bytes, got 0/,
      ],
      [
        encodeCanonical([
          1,
          hv,
          [],
          null,
          [['k', null, [1, new Uint8Array(1), [new Uint8Array(32), new Uint8Array(32)], null]]],
        ]),
        /update\.proofs\[0\]\.proof\.siblings: expected at most 1 siblings, got 2/,
      ],
      [
        encodeCanonical([1, hv, [], null, Array.from({ length: 33 }, () => null)]),
        /update\.proofs: expected at most 32 proofs, got 33/,
      ],
      [new Uint8Array(MAX_UPDATE_BYTES + 1), /update: 65537 bytes, expected at most 65536/],
      [Uint8Array.of(0xa0), /MALFORMED: update: offset 0: .*map/],
    ];
    for (const [bytes, expected] of cases) expect(refusal(() => decodeUpdate(bytes))).toMatch(expected);
    expect(refusal(() => decodeCheckpoint(encodeCanonical([1, hv, [], null])))).toMatch(
      /checkpoint\.schedule: expected 1\.\.64/,
    );
    const sched = chain.active[3]!.map((a) => new Uint8Array(Buffer.from(a, 'hex')));
    expect(refusal(() => decodeCheckpoint(encodeCanonical([1, hv, sched, [99, sched]])))).toMatch(
      /checkpoint\.next\.electedAt: expected an integer in 0\.\.3, got number 99/,
    );
    expect(refusal(() => decodeStateProof(encodeCanonical([1, -1, null])))).toMatch(
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
