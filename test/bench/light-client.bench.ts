/**
 * The light client's budget: bytes of a finality update with 21 producers (a quorum of 15 votes
 * and all 21; with the proven schedule record), the time to verify one against a single ed25519 verify (the
 * floor: an update costs about one verify per vote), the heap one client holds, and a state proof's
 * bytes and verify time in a tree of 1,000,000 accounts against one SHA-256 of 64 bytes.
 */
import { randomBytes } from 'node:crypto';
import {
  decodeCheckpoint,
  decodeUpdate,
  encodeCheckpoint,
  encodeStateProof,
  encodeUpdate,
  type FinalityUpdate,
  LightClient,
  type SmtProof,
  sha256,
  smtBuild,
  smtProve,
  smtVerify,
  verify,
} from '../../chain/index.js';
import { buildLightChain, checkpointAt, lightKey, updateAt, votesAt } from '../support/light-chain.js';
import type { BenchSuite } from './harness.js';

const LOOPS = 40;

export const suite: BenchSuite = {
  name: 'light client',
  figures: async () => {
    // 21 producers, rounds of 21 blocks; block 3 elects a new schedule, which block 21 (the first of
    // round 1) records as the next round's. Updates inside the head's round need no schedule record;
    // the publisher sends one with every update all the same.
    const chain = buildLightChain({ producers: 21, electAt: [3], height: 22, roundBlocks: 21 });
    const plain: FinalityUpdate = { ...updateAt(chain, 2), schedule: null };
    const quorum: FinalityUpdate = { ...plain, votes: votesAt(chain, 2, 15) };
    const change = updateAt(chain, 21);
    const plainBytes = encodeUpdate(plain);
    const quorumBytes = encodeUpdate(quorum);
    const changeBytes = encodeUpdate(change);
    const checkpoint = checkpointAt(chain, 1);
    const checkpointBytes = encodeCheckpoint(checkpoint);

    // The floor: one ed25519 verify of a 32-byte message, as a vote is.
    const signer = lightKey('floor');
    const msg = sha256(Uint8Array.of(1));
    const sig = signer.sign(msg);
    const verifyUs = () => {
      const t0 = performance.now();
      for (let i = 0; i < LOOPS * 15; i++) verify(sig, msg, signer.publicKey);
      return ((performance.now() - t0) * 1000) / (LOOPS * 15);
    };
    const applyUs = (u: FinalityUpdate) => () => {
      const clients = Array.from({ length: LOOPS }, () => new LightClient({ checkpoint }));
      const t0 = performance.now();
      for (const c of clients) if (!c.apply(u).ok) throw new Error('update refused');
      return ((performance.now() - t0) * 1000) / LOOPS;
    };

    // A million accounts (random key hashes, 60-byte values as an account record is), built when
    // the proof figures run, after the update figures, so its heap does not weigh on them.
    const N = 1_000_000;
    const value = new Uint8Array(60);
    let big: { root: Uint8Array; keys: Uint8Array[]; proofs: SmtProof[] } | undefined;
    const million = () => {
      if (big !== undefined) return big;
      const pool = new Uint8Array(randomBytes(32 * N));
      const tree = smtBuild(
        Array.from({ length: N }, (_, i) => ({ keyHash: pool.subarray(32 * i, 32 * i + 32), bytes: value })),
      );
      const keys = Array.from({ length: 100 }, (_, i) => pool.subarray(32 * i * 9000, 32 * i * 9000 + 32));
      big = { root: tree!.hash, keys, proofs: keys.map((k) => smtProve(tree, k)) };
      return big;
    };
    const sha64 = new Uint8Array(64);

    return [
      {
        name: 'update bytes, 21 producers, 15 votes (quorum)',
        unit: 'bytes',
        runs: 1,
        measure: () => quorumBytes.length,
      },
      {
        name: 'update bytes, 21 producers, 21 votes',
        unit: 'bytes',
        runs: 1,
        measure: () => plainBytes.length,
      },
      {
        name: 'update bytes, 21 votes + schedule record (21 producers, proof)',
        unit: 'bytes',
        runs: 1,
        measure: () => changeBytes.length,
      },
      {
        name: 'verify + apply an update, 15 votes',
        unit: 'µs',
        measure: applyUs(quorum),
        floor: { name: 'one ed25519 verify', measure: verifyUs },
      },
      {
        name: 'verify + apply an update, 21 votes',
        unit: 'µs',
        measure: applyUs(plain),
        floor: { name: 'one ed25519 verify', measure: verifyUs },
      },
      {
        name: 'verify + apply a schedule-change update, 21 votes',
        unit: 'µs',
        measure: applyUs(change),
        floor: { name: 'one ed25519 verify', measure: verifyUs },
      },
      {
        name: 'heap held per light client (21 producers, 200 clients)',
        unit: 'bytes',
        runs: 3,
        measure: () => {
          const gc = (globalThis as { gc?: () => void }).gc;
          gc?.();
          const before = process.memoryUsage().heapUsed;
          // Each client decodes its own checkpoint and update, as a device does: nothing shared.
          const held = Array.from({ length: 200 }, () => {
            const c = new LightClient({ checkpoint: decodeCheckpoint(checkpointBytes) });
            c.apply(decodeUpdate(changeBytes));
            return c;
          });
          gc?.();
          const after = process.memoryUsage().heapUsed;
          return held.length > 0 ? Math.round((after - before) / held.length) : 0;
        },
        note: 'current + next schedule of 21; --expose-gc',
      },
      {
        name: 'state proof bytes, 1,000,000 accounts (median of 100)',
        unit: 'bytes',
        runs: 1,
        measure: () => {
          const sizes = million()
            .proofs.map(
              (proof) =>
                encodeStateProof({
                  height: 1_000_000,
                  proof: { key: `acct/${'ab'.repeat(32)}`, value, proof },
                }).length,
            )
            .sort((a, b) => a - b);
          return sizes[50]!;
        },
      },
      {
        name: 'state proof verify, 1,000,000 accounts',
        unit: 'µs',
        measure: () => {
          const { root, keys, proofs } = million();
          const t0 = performance.now();
          for (let r = 0; r < 10; r++)
            for (let i = 0; i < proofs.length; i++)
              if (!smtVerify(root, keys[i]!, value, proofs[i]!)) throw new Error('proof');
          return ((performance.now() - t0) * 1000) / (10 * proofs.length);
        },
        floor: {
          name: 'one SHA-256 of 64 bytes',
          measure: () => {
            const t0 = performance.now();
            for (let i = 0; i < 10_000; i++) sha256(sha64);
            return ((performance.now() - t0) * 1000) / 10_000;
          },
        },
      },
    ];
  },
};
