/**
 * Generates test/vectors/p2p-handshake.json: the signed and hashed bytes of the p2p handshake and
 * session (node/p2p/handshake.ts, seal.ts) from fixed keys: both hellos, the transcript, what each
 * side signs and its signature, the session keys of each direction, and the first two sealed frames
 * the dialer sends. `npm run build && node dist/test/vectors/generate-p2p.js` rewrites the file;
 * test/unit/node/p2p/p2p-vectors.test.ts fails when the code no longer produces it.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ed25519Signer, toHex, x25519PublicKey } from '../../chain/index.js';
import {
  answerHello,
  authMessage,
  deriveSessionKeys,
  type EphemeralKey,
  encodeP2p,
  FrameSealer,
  type Hello,
  handshakeTranscript,
  P2P_VERSION,
} from '../../node/p2p/index.js';
import { fixed } from './generate-chain.js';

function ephemeral(label: string): EphemeralKey {
  const secretKey = fixed(label);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

export function generateP2pVectors(): Record<string, unknown> {
  const chainId = 'qood-vector';
  const genesisId = fixed('vector/genesis-id');
  const dialer = new Ed25519Signer(fixed('vector/p2p-dialer-secret'));
  const listener = new Ed25519Signer(fixed('vector/p2p-listener-secret'));
  const dialerEph = ephemeral('vector/p2p-dialer-ephemeral');
  const listenerEph = ephemeral('vector/p2p-listener-ephemeral');
  const hello = (
    signer: Ed25519Signer,
    eph: EphemeralKey,
    nonceLabel: string,
    listenPort: number,
  ): Hello => ({
    kind: 'hello',
    version: P2P_VERSION,
    chainId,
    genesisId,
    nodeKey: signer.publicKey,
    nonce: fixed(nonceLabel),
    listenPort,
    ephemeralKey: eph.publicKey,
  });
  const dialerHello = hello(dialer, dialerEph, 'vector/p2p-dialer-nonce', 0);
  const listenerHello = hello(listener, listenerEph, 'vector/p2p-listener-nonce', 26600);
  const transcript = handshakeTranscript(dialerHello, listenerHello);
  const dialerCtx = { chainId, genesisId, signer: dialer };
  const listenerCtx = { chainId, genesisId, signer: listener };
  const dialerKeys = deriveSessionKeys(dialerEph, listenerEph.publicKey, transcript, true);
  const listenerKeys = deriveSessionKeys(listenerEph, dialerEph.publicKey, transcript, false);
  const sealer = new FrameSealer(dialerKeys.send);
  const status = encodeP2p({ kind: 'status', finalHeight: 7, headHeight: 9 });
  return {
    version: P2P_VERSION,
    chainId,
    genesisId: toHex(genesisId),
    dialer: { nodeKey: toHex(dialer.publicKey), ephemeralSecret: toHex(dialerEph.secretKey) },
    listener: { nodeKey: toHex(listener.publicKey), ephemeralSecret: toHex(listenerEph.secretKey) },
    dialerHello: toHex(encodeP2p(dialerHello)),
    listenerHello: toHex(encodeP2p(listenerHello)),
    transcript: toHex(transcript),
    dialerAuth: {
      signed: toHex(
        authMessage(
          chainId,
          genesisId,
          listenerHello.nonce,
          dialer.publicKey,
          listener.publicKey,
          transcript,
        ),
      ),
      signature: toHex(answerHello(dialerCtx, listenerHello, transcript).signature),
    },
    listenerAuth: {
      signed: toHex(
        authMessage(chainId, genesisId, dialerHello.nonce, listener.publicKey, dialer.publicKey, transcript),
      ),
      signature: toHex(answerHello(listenerCtx, dialerHello, transcript).signature),
    },
    keys: { dialerToListener: toHex(dialerKeys.send), listenerToDialer: toHex(listenerKeys.send) },
    status: toHex(status),
    sealedFrames: [toHex(sealer.seal(status)), toHex(sealer.seal(status))],
  };
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(here, '..', '..', '..', 'test', 'vectors', 'p2p-handshake.json');
  writeFileSync(out, `${JSON.stringify(generateP2pVectors(), null, 2)}\n`);
  process.stdout.write(`written ${out}\n`);
}
