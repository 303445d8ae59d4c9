/**
 * Fuzzing what a p2p peer sends: the length-prefixed frames of the byte stream (split anywhere)
 * and the CBOR messages inside them (hello, auth, tx, block, vote, getBlocks, blocks, status,
 * getRange, range). A stream gives payloads or a FrameError; a payload gives a message or a
 * P2pWireError with a code of its union; nothing else escapes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeCanonical, decodeSignedTx, encodeCanonical, fromHex } from '../../chain/index.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, FrameError } from '../../node/p2p/index.js';
import { FrameOpener, FrameSealer } from '../../node/p2p/seal.js';
import { decodeP2p, encodeP2p, type P2pMessage, P2pWireError } from '../../node/p2p/wire.js';
import { answersOrRefuses, fuzz, mutatedBytes, mutatedCbor } from '../support/fuzz.js';
import { projectRoot } from '../support/system.js';

const txv = JSON.parse(readFileSync(join(projectRoot(), 'test', 'vectors', 'chain-tx.json'), 'utf8')) as {
  txs: { signed: string }[];
  chain: { block1: string };
};
// A stored block: the pinned signed header with two of the pinned transactions.
const block = decodeBlock(
  encodeCanonical([
    decodeCanonical(fromHex(txv.chain.block1)),
    txv.txs.slice(0, 2).map((t) => fromHex(t.signed)),
  ]),
);
const messages: P2pMessage[] = [
  {
    kind: 'hello',
    version: 2,
    chainId: 'qood-fuzz',
    genesisId: new Uint8Array(32).fill(1),
    nodeKey: new Uint8Array(32).fill(2),
    nonce: new Uint8Array(32).fill(3),
    listenPort: 7000,
    ephemeralKey: new Uint8Array(32).fill(9),
  },
  { kind: 'auth', signature: new Uint8Array(64).fill(4) },
  { kind: 'tx', tx: decodeSignedTx(fromHex(txv.txs[0]!.signed)) },
  { kind: 'block', block },
  {
    kind: 'vote',
    vote: {
      height: 1,
      blockId: new Uint8Array(32).fill(5),
      vote: { producer: '06'.repeat(32), signature: new Uint8Array(64) },
    },
  } as P2pMessage,
  { kind: 'getBlocks', blockId: new Uint8Array(32).fill(7), aboveHeight: 0 },
  { kind: 'blocks', blocks: [block, block] },
  { kind: 'status', finalHeight: 1, headHeight: 2 },
  { kind: 'getRange', fromHeight: 1, count: 64 },
  { kind: 'range', entries: [{ block, certificate: null }] },
];
const payloads = messages.map(encodeP2p);
const MAX_FRAME = 4096;

describe('p2p', () => {
  it('frames: a stream split anywhere gives payloads within the limit or a FrameError', () => {
    const stream = fc.oneof(
      mutatedBytes([Uint8Array.from(payloads.flatMap((p) => [...encodeFrame(p)]))]),
      fc.uint8Array({ maxLength: 64 }),
    );
    fuzz(500, [stream, fc.array(fc.nat({ max: 64 }), { maxLength: 20 })], (bytes, cuts) => {
      const dec = new FrameDecoder(MAX_FRAME);
      let at = 0;
      try {
        for (const c of [...cuts, bytes.length]) {
          const next = Math.min(bytes.length, at + c);
          for (const p of dec.push(bytes.subarray(at, next))) {
            expect(p.length).toBeGreaterThan(0);
            expect(p.length).toBeLessThanOrEqual(MAX_FRAME);
          }
          at = next;
        }
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        expect(['OVERSIZED', 'EMPTY']).toContain(err.code);
        return;
      }
      expect(dec.pendingBytes).toBeLessThanOrEqual(MAX_FRAME + FRAME_HEADER_BYTES);
    });
  });

  it('messages: a message or a P2pWireError with a code of its union', () => {
    fuzz(800, [mutatedCbor(payloads)], (bytes) => {
      answersOrRefuses(
        () => decodeP2p(bytes),
        [{ type: P2pWireError, codes: ['UNDECODABLE', 'UNKNOWN_TYPE', 'SHAPE'] }],
      );
    });
  });

  it('sealed frames: only the frame sealed under the next number opens, to its own payload; anything else opens nothing', () => {
    const key = new Uint8Array(32).fill(11);
    const sealed = payloads.map((p) => new FrameSealer(key).seal(p));
    fuzz(800, [fc.nat({ max: payloads.length - 1 }), mutatedBytes(sealed)], (i, bytes) => {
      const out = new FrameOpener(key).open(bytes);
      const genuine = sealed.findIndex((x) => x.length === bytes.length && x.every((b, k) => b === bytes[k]));
      if (genuine === -1) expect(out).toBeUndefined();
      else expect(out).toEqual(payloads[genuine]);
      // A genuine frame under another number (replayed or reordered) opens nothing either.
      const later = new FrameOpener(key);
      later.open(sealed[i]!);
      expect(later.open(sealed[i]!)).toBeUndefined();
    });
  });
});
