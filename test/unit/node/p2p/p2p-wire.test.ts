import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildBlock,
  createGenesis,
  Ed25519Signer,
  encodeCanonical,
  signVote,
  toHex,
} from '../../../../chain/index.js';
import {
  answerHello,
  checkAuth,
  checkHello,
  decodeP2p,
  deriveSessionKeys,
  encodeFrame,
  encodeP2p,
  FrameDecoder,
  FrameError,
  FrameOpener,
  FrameSealer,
  handshakeTranscript,
  newEphemeralKey,
  P2P_VERSION,
  type P2pMessage,
  P2pWireError,
  SEAL_OVERHEAD_BYTES,
} from '../../../../node/p2p/index.js';
import { localGenesis } from '../../../../node/runtime/index.js';

const key = (n: number) => new Ed25519Signer(new Uint8Array(32).fill(n));
const spec = localGenesis({
  chainId: 'qood-unit',
  preset: 'minimal',
  producers: [key(1), key(2), key(3), key(4)],
  whale: key(9),
  timeMs: 1_800_000_000_000,
});
const genesis = createGenesis(spec);

describe('frames', () => {
  it('splits a stream cut at any byte into the payloads sent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map(encodeFrame));
          const d = new FrameDecoder(1000);
          const got: Uint8Array[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            got.push(...d.push(stream.subarray(at, at + n)));
            at += n;
          }
          expect(got.map((g) => Buffer.from(g).toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
          expect(d.pendingBytes).toBe(0);
        },
      ),
    );
  });

  it('refuses an oversized frame as soon as its length arrives, naming the offset', () => {
    const d = new FrameDecoder(100);
    expect(d.push(encodeFrame(new Uint8Array(10)))).toHaveLength(1);
    try {
      d.push(Uint8Array.of(0, 0, 0x10, 0));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).code).toBe('OVERSIZED');
      expect((err as FrameError).message).toBe('offset 14: a frame of 4096 bytes; at most 100 accepted');
    }
  });

  it('refuses an empty frame', () => {
    expect(() => new FrameDecoder(100).push(Uint8Array.of(0, 0, 0, 0))).toThrow(/a frame of 0 bytes/);
  });
});

describe('p2p messages', () => {
  const block = buildBlock(genesis, [], key(1), spec.timeMs + 500).block;
  const vote = {
    height: 1,
    blockId: genesis.blockId,
    vote: signVote(key(2), 'qood-unit', 1, genesis.blockId),
  };
  const messages: P2pMessage[] = [
    {
      kind: 'hello',
      version: P2P_VERSION,
      chainId: 'qood-unit',
      genesisId: genesis.blockId,
      nodeKey: key(1).publicKey,
      nonce: new Uint8Array(32).fill(5),
      listenPort: 26600,
      ephemeralKey: new Uint8Array(32).fill(6),
    },
    { kind: 'auth', signature: new Uint8Array(64).fill(3) },
    { kind: 'block', block },
    { kind: 'vote', vote },
    { kind: 'getBlocks', blockId: genesis.blockId, aboveHeight: 7 },
    { kind: 'blocks', blocks: [block, block] },
    { kind: 'status', finalHeight: 10, headHeight: 12 },
    { kind: 'getRange', fromHeight: 11, count: 128 },
    {
      kind: 'range',
      entries: [
        {
          block,
          certificate: { chainId: 'qood-unit', height: 1, blockId: genesis.blockId, votes: [vote.vote] },
        },
        { block, certificate: null },
      ],
    },
  ];

  it('round-trip byte for byte', () => {
    for (const m of messages) {
      const bytes = encodeP2p(m);
      expect(Buffer.from(encodeP2p(decodeP2p(bytes))).equals(Buffer.from(bytes)), m.kind).toBe(true);
    }
  });

  it('reject garbage, unknown types and malformed fields with what and where', () => {
    expect(() => decodeP2p(new TextEncoder().encode('not a message'))).toThrow(P2pWireError);
    const unknown = encodeP2p({ kind: 'status', finalHeight: 1, headHeight: 1 });
    const t = Uint8Array.from(unknown);
    t[1] = 0x17; // type 23
    expect(() => decodeP2p(t)).toThrow(/message\[0\]: unknown message type 23/);
    const bad = encodeP2p({ kind: 'getRange', fromHeight: 1, count: 128 });
    const b = Uint8Array.from(bad);
    b[b.length - 2] = 0x19; // count 0x19xx: two-byte uint over 256
    expect(() => decodeP2p(b)).toThrow(/getRange.count|canonical/);
  });

  it('refuse a hello of another version by its version, before reading the rest', () => {
    const v1 = encodeCanonical([0, 1, 'qood-unit', genesis.blockId, key(1).publicKey, new Uint8Array(32), 0]);
    try {
      decodeP2p(v1);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(P2pWireError);
      expect((err as P2pWireError).code).toBe('VERSION');
      expect((err as P2pWireError).message).toBe('hello.version: protocol version 1; this node speaks 2');
    }
  });

  it('never throw anything but P2pWireError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeP2p(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(P2pWireError);
        }
      }),
    );
  });
});

describe('sealed session', () => {
  it('derives the same keys on both sides, one per direction, and opens frames only in order', () => {
    const ea = newEphemeralKey();
    const eb = newEphemeralKey();
    const t = new Uint8Array(32).fill(4);
    const dialer = deriveSessionKeys(ea, eb.publicKey, t, true);
    const listener = deriveSessionKeys(eb, ea.publicKey, t, false);
    expect(Buffer.from(dialer.send).equals(Buffer.from(listener.receive))).toBe(true);
    expect(Buffer.from(dialer.receive).equals(Buffer.from(listener.send))).toBe(true);
    expect(Buffer.from(dialer.send).equals(Buffer.from(dialer.receive))).toBe(false);
    const sealer = new FrameSealer(dialer.send);
    const opener = new FrameOpener(listener.receive);
    const f0 = sealer.seal(Uint8Array.of(1, 2, 3));
    const f1 = sealer.seal(Uint8Array.of(1, 2, 3));
    expect(f0).toHaveLength(3 + SEAL_OVERHEAD_BYTES);
    // The same payload twice: two different ciphertexts (the nonce counts).
    expect(Buffer.from(f0).equals(Buffer.from(f1))).toBe(false);
    expect(opener.open(f1)).toBeUndefined(); // out of order
    expect(opener.open(f0)).toEqual(Uint8Array.of(1, 2, 3));
    expect(opener.open(f0)).toBeUndefined(); // replayed
    expect(opener.open(f1)).toEqual(Uint8Array.of(1, 2, 3));
    // Another transcript (a middleman's view of the handshake): other keys.
    const other = deriveSessionKeys(eb, ea.publicKey, new Uint8Array(32).fill(5), false);
    expect(new FrameOpener(other.receive).open(sealer.seal(Uint8Array.of(9)))).toBeUndefined();
  });

  it('refuses an ephemeral key of low order', () => {
    expect(() => deriveSessionKeys(newEphemeralKey(), new Uint8Array(32), new Uint8Array(32), true)).toThrow(
      /low-order/,
    );
  });
});

describe('handshake', () => {
  const ctxA = { chainId: 'qood-unit', genesisId: genesis.blockId, signer: key(1) };
  const ctxB = { chainId: 'qood-unit', genesisId: genesis.blockId, signer: key(2) };
  const hello = (ctx: typeof ctxA, nonce: number) =>
    ({
      kind: 'hello',
      version: P2P_VERSION,
      chainId: ctx.chainId,
      genesisId: ctx.genesisId,
      nodeKey: ctx.signer.publicKey,
      nonce: new Uint8Array(32).fill(nonce),
      listenPort: 0,
      ephemeralKey: newEphemeralKey().publicKey,
    }) as const;

  it('proves each key to the other for this connection only', () => {
    const ha = hello(ctxA, 1);
    const hb = hello(ctxB, 2);
    expect(checkHello(ctxB, ha)).toBeUndefined();
    const t = handshakeTranscript(ha, hb);
    const authA = answerHello(ctxA, hb, t);
    expect(checkAuth(ctxB, ha, hb.nonce, t, authA.signature)).toBe(true);
    // Replayed on a connection with another nonce, or claimed for another key: refused.
    expect(checkAuth(ctxB, ha, new Uint8Array(32).fill(3), t, authA.signature)).toBe(false);
    expect(checkAuth(ctxB, { ...ha, nodeKey: key(5).publicKey }, hb.nonce, t, authA.signature)).toBe(false);
    // Relayed to a third node: the verifier's key is in the signed bytes.
    const ctxC = { ...ctxB, signer: key(3) };
    expect(checkAuth(ctxC, ha, hb.nonce, t, authA.signature)).toBe(false);
  });

  it('binds the ephemeral keys: a middleman who swaps one breaks the signature', () => {
    const ha = hello(ctxA, 1);
    const hb = hello(ctxB, 2);
    const authA = answerHello(ctxA, hb, handshakeTranscript(ha, hb));
    // B saw another ephemeral key in A's hello (or A saw another in B's): another transcript.
    const swapped = { ...ha, ephemeralKey: newEphemeralKey().publicKey };
    expect(checkAuth(ctxB, swapped, hb.nonce, handshakeTranscript(swapped, hb), authA.signature)).toBe(false);
    const swappedB = { ...hb, ephemeralKey: newEphemeralKey().publicKey };
    expect(checkAuth(ctxB, ha, hb.nonce, handshakeTranscript(ha, swappedB), authA.signature)).toBe(false);
  });

  it('refuses another chain, genesis, version and itself', () => {
    const ha = hello(ctxA, 1);
    expect(checkHello(ctxB, { ...ha, chainId: 'other' })).toBe("chain 'other'; this node is on 'qood-unit'");
    expect(checkHello(ctxB, { ...ha, genesisId: new Uint8Array(32) })).toMatch(/^genesis 0000/);
    expect(checkHello(ctxB, { ...ha, version: 9 })).toBe('protocol version 9; this node speaks 2');
    expect(checkHello(ctxA, ha)).toBe('a connection to itself');
    expect(toHex(ha.nodeKey)).toHaveLength(64);
  });
});
