/**
 * The price of sealing p2p frames (node/p2p/seal.ts: ChaCha20-Poly1305 under a per-direction
 * counter nonce, every frame after the handshake). Block gossip frames (a `block` message of a block
 * of transfers, encoded once as a broadcast does) and vote frames go over a real loopback TCP socket
 * in this process, framed as peer.ts frames them; the figure seals before writing and opens after
 * framing, the floor is the same path in the clear (what protocol version 1 sent). Decoding the
 * message is the same both ways and left out, so the ratio is the transport's alone.
 * - Throughput: block frames per second, one direction, written as fast as the socket drains.
 * - Latency: round trip of one frame (sent, opened, sent back, opened), median of 300.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  buildBlock,
  createGenesis,
  Ed25519Signer,
  sha256,
  signTx,
  signVote,
  toHex,
  UNIT,
} from '../../chain/index.js';
import {
  deriveSessionKeys,
  encodeFrame,
  encodeP2p,
  FrameDecoder,
  FrameOpener,
  FrameSealer,
  newEphemeralKey,
} from '../../node/p2p/index.js';
import { localGenesis } from '../../node/runtime/index.js';
import type { BenchFigure, BenchSuite } from './harness.js';
import { median } from './harness.js';

const key = (label: string) => new Ed25519Signer(sha256(new TextEncoder().encode(`p2p-seal-bench/${label}`)));

/** A loopback TCP connection: `a` dials `b`. */
interface Pipe {
  readonly a: Socket;
  readonly b: Socket;
  readonly server: Server;
}

async function openPipe(): Promise<Pipe> {
  let accepted: (s: Socket) => void = () => {};
  const bReady = new Promise<Socket>((r) => {
    accepted = r;
  });
  const server = createServer((s) => accepted(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = createConnection({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await new Promise((r) => a.once('connect', r));
  const b = await bReady;
  for (const s of [a, b]) s.setNoDelay(true);
  return { a, b, server };
}

async function closePipe(p: Pipe): Promise<void> {
  p.a.destroy();
  p.b.destroy();
  await new Promise<void>((r) => p.server.close(() => r()));
}

/** Both directions' sealers and openers of one session, or undefined for the clear path. */
function session(sealed: boolean) {
  if (!sealed) return undefined;
  const da = newEphemeralKey();
  const db = newEphemeralKey();
  const t = new Uint8Array(32).fill(1);
  const dialer = deriveSessionKeys(da, db.publicKey, t, true);
  const listener = deriveSessionKeys(db, da.publicKey, t, false);
  return {
    aSeal: new FrameSealer(dialer.send),
    bOpen: new FrameOpener(listener.receive),
    bSeal: new FrameSealer(listener.send),
    aOpen: new FrameOpener(dialer.receive),
  };
}

function openOrThrow(opener: FrameOpener | undefined, payload: Uint8Array): Uint8Array {
  if (opener === undefined) return payload;
  const out = opener.open(payload);
  if (out === undefined) throw new Error('a sealed frame did not open');
  return out;
}

/** Block frames per second from a to b. */
async function throughput(payload: Uint8Array, frames: number, sealed: boolean): Promise<number> {
  const p = await openPipe();
  const s = session(sealed);
  const decoder = new FrameDecoder(16 * 1024 * 1024);
  let got = 0;
  const done = new Promise<void>((resolve) => {
    p.b.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        openOrThrow(s?.bOpen, f);
        if (++got === frames) resolve();
      }
    });
  });
  const t0 = performance.now();
  let sent = 0;
  const pump = () => {
    while (sent < frames) {
      sent++;
      const body = s === undefined ? payload : s.aSeal.seal(payload);
      if (!p.a.write(encodeFrame(body))) {
        p.a.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await done;
  const perSec = frames / ((performance.now() - t0) / 1000);
  await closePipe(p);
  return perSec;
}

/** Median round trip in ms of `payload` a -> b -> a. */
async function roundTripMs(payload: Uint8Array, trips: number, sealed: boolean): Promise<number> {
  const p = await openPipe();
  const s = session(sealed);
  const atB = new FrameDecoder(16 * 1024 * 1024);
  const atA = new FrameDecoder(16 * 1024 * 1024);
  p.b.on('data', (chunk: Buffer) => {
    for (const f of atB.push(chunk)) {
      const m = openOrThrow(s?.bOpen, f);
      p.b.write(encodeFrame(s === undefined ? m : s.bSeal.seal(m)));
    }
  });
  let back: () => void = () => {};
  p.a.on('data', (chunk: Buffer) => {
    for (const f of atA.push(chunk)) {
      openOrThrow(s?.aOpen, f);
      back();
    }
  });
  const rtts: number[] = [];
  for (let i = 0; i < trips; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      back = resolve;
      p.a.write(encodeFrame(s === undefined ? payload : s.aSeal.seal(payload)));
    });
    rtts.push(performance.now() - t0);
  }
  await closePipe(p);
  return median(rtts);
}

export const suite: BenchSuite = {
  name: 'p2p-seal',
  figures: () => {
    const producers = [key('p0'), key('p1'), key('p2'), key('p3')];
    const whale = key('whale');
    const spec = localGenesis({
      chainId: 'qood-bench',
      preset: 'minimal',
      producers,
      whale,
      timeMs: 1_800_000_000_000,
    });
    const genesis = createGenesis(spec);
    const to = toHex(key('to').publicKey);
    const txs = Array.from({ length: 200 }, (_, nonce) =>
      signTx(
        {
          chainId: 'qood-bench',
          kind: 'transfer',
          sender: toHex(whale.publicKey),
          nonce,
          fee: 0n,
          body: { to, token: 'QDT', amount: UNIT, memo: new Uint8Array() },
        },
        whale,
      ),
    );
    const built = buildBlock(genesis, txs, producers[0]!, spec.timeMs + 500);
    const block = encodeP2p({ kind: 'block', block: built.block });
    const vote = encodeP2p({
      kind: 'vote',
      vote: {
        height: 1,
        blockId: genesis.blockId,
        vote: signVote(producers[1]!, 'qood-bench', 1, genesis.blockId),
      },
    });
    const blockNote = `block of ${built.block.txs.length} transfers, ${block.length} bytes`;
    const figures: BenchFigure[] = [
      {
        name: 'block gossip frames, sealed',
        unit: 'frames/s',
        measure: () => throughput(block, 3000, true),
        floor: { name: 'in the clear', measure: () => throughput(block, 3000, false) },
        note: blockNote,
      },
      {
        name: 'block frame round trip, sealed',
        unit: 'ms',
        measure: () => roundTripMs(block, 300, true),
        floor: { name: 'in the clear', measure: () => roundTripMs(block, 300, false) },
        note: blockNote,
      },
      {
        name: 'vote frame round trip, sealed',
        unit: 'ms',
        measure: () => roundTripMs(vote, 300, true),
        floor: { name: 'in the clear', measure: () => roundTripMs(vote, 300, false) },
        note: `${vote.length} bytes`,
      },
    ];
    return Promise.resolve(figures);
  },
};
