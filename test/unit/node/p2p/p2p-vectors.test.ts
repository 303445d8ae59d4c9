/**
 * Pins the signed and hashed bytes of the p2p handshake and session (test/vectors/p2p-handshake.json,
 * made by test/vectors/generate-p2p.ts): the hellos, the transcript, both auth signatures, the
 * session keys and sealed frames. The pinned signatures verify, and the pinned frames open in order
 * under the pinned listener's receive key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Ed25519Signer, fromHex, toHex } from '../../../../chain/index.js';
import { checkAuth, decodeP2p, FrameOpener, type Hello } from '../../../../node/p2p/index.js';
import { projectRoot } from '../../../support/system.js';
import { generateP2pVectors } from '../../../vectors/generate-p2p.js';

const pinned = JSON.parse(
  readFileSync(join(projectRoot(), 'test', 'vectors', 'p2p-handshake.json'), 'utf8'),
) as {
  chainId: string;
  genesisId: string;
  dialerHello: string;
  listenerHello: string;
  transcript: string;
  dialerAuth: { signature: string };
  keys: { dialerToListener: string };
  status: string;
  sealedFrames: string[];
};

describe('p2p handshake vectors (test/vectors/p2p-handshake.json)', () => {
  it('are exactly what the code produces today (a change here is a protocol change)', () => {
    expect(JSON.parse(JSON.stringify(generateP2pVectors()))).toEqual(pinned);
  });

  it("the pinned dialer's auth verifies at the listener, and the sealed frames open in order", () => {
    const dialerHello = decodeP2p(fromHex(pinned.dialerHello)) as Hello;
    const listenerHello = decodeP2p(fromHex(pinned.listenerHello)) as Hello;
    // checkAuth needs only the listener's public key from the signer; a throwaway secret is never used.
    const listenerCtx = {
      chainId: pinned.chainId,
      genesisId: fromHex(pinned.genesisId),
      signer: { publicKey: listenerHello.nodeKey } as Ed25519Signer,
    };
    expect(
      checkAuth(
        listenerCtx,
        dialerHello,
        listenerHello.nonce,
        fromHex(pinned.transcript),
        fromHex(pinned.dialerAuth.signature),
      ),
    ).toBe(true);
    const opener = new FrameOpener(fromHex(pinned.keys.dialerToListener));
    expect(pinned.sealedFrames.map((f) => toHex(opener.open(fromHex(f)) ?? new Uint8Array()))).toEqual([
      pinned.status,
      pinned.status,
    ]);
  });
});
