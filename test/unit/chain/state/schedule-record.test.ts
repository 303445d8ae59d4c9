import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeSchedule,
  electSchedule,
  encodeCanonical,
  encodeSchedule,
  keyHash,
  proveKey,
  recordedSchedule,
  smtVerify,
  stateKey,
  stateRoot,
  UNIT,
} from '../../../../chain/index.js';
import { addr, block, genesis, keys, tx } from '../chain-fixture.js';

describe('the elected schedule recorded in the state', () => {
  it('equals electSchedule at genesis and after votes change the election, and is provable', () => {
    let s = genesis();
    expect(recordedSchedule(s)).toEqual(electSchedule(s));
    const rootBefore = stateRoot(s);
    s = block(
      s,
      tx(s, keys.alice, 'transfer', {
        to: addr(keys.bob),
        amount: UNIT,
        token: 'QDT',
        memo: new Uint8Array(0),
      }),
    );
    expect(recordedSchedule(s)).toEqual(electSchedule(s));
    s = block(s, tx(s, keys.carol, 'registerProducer', { url: 'https://carol.example' }));
    s = block(s, tx(s, keys.carol, 'stake', { amount: 999n * UNIT }));
    s = block(s, tx(s, keys.carol, 'vote', { producers: [addr(keys.carol)] }));
    expect(recordedSchedule(s)).toContain(addr(keys.carol));
    expect(recordedSchedule(s)).toEqual(electSchedule(s));
    expect(stateRoot(s)).not.toEqual(rootBefore);
    const p = proveKey(s, stateKey.schedule());
    expect(smtVerify(stateRoot(s), keyHash('sched'), encodeSchedule(electSchedule(s)), p.proof)).toBe(true);
    expect(smtVerify(stateRoot(s), keyHash('sched'), encodeSchedule(keys.p.map(addr).sort()), p.proof)).toBe(
      false,
    );
  });

  it('decodes only 1..64 distinct ascending 32-byte addresses, naming the entry', () => {
    const a = keys.p.map(addr).sort();
    expect(decodeSchedule(encodeSchedule(a))).toEqual(a);
    const bad = (bytes: Uint8Array) => {
      try {
        decodeSchedule(bytes);
        return 'ok';
      } catch (e) {
        return e instanceof CodecError ? e.message : 'not a CodecError';
      }
    };
    expect(bad(encodeCanonical([]))).toMatch(/expected 1\.\.64 producers, got 0/);
    expect(bad(encodeSchedule([a[1]!, a[0]!]))).toMatch(/schedule\[1\].*ascending/);
    expect(bad(encodeSchedule([a[0]!, a[0]!]))).toMatch(/schedule\[1\].*ascending/);
    expect(bad(encodeCanonical([new Uint8Array(31)]))).toMatch(/schedule\[0\]: expected 32 bytes/);
    expect(bad(Uint8Array.of(0x81))).toMatch(/offset/);
  });
});
