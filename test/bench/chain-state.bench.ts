/**
 * The state machine's throughput: QDT transfers applied per second by `applyBlock` with real ed25519
 * verification, against raw node:crypto verifies/s in the same run (the floor that bounds it); the
 * same block with signatures verified beforehand on both cores (VerifyPool: a worker thread and the
 * main one); the block applied with every signature already verified at mempool admission
 * (SignatureCache hits, against the bare state transition); the pool's verifies/s by batch size
 * against inline verification; the time to apply a full block; and the size of a state proof with
 * 10,000 and 1,000,000 accounts.
 */
import { randomBytes } from 'node:crypto';
import {
  applyBlock,
  type Block,
  buildBlock,
  type ChainState,
  createGenesis,
  Ed25519Signer,
  encodeSignedTx,
  minimalParams,
  proveKey,
  SignatureCache,
  signTx,
  smtBuild,
  smtProve,
  stateKey,
  toHex,
  UNIT,
  verify,
} from '../../chain/index.js';
import { VerifyPool } from '../../node/runtime/index.js';
import type { BenchSuite } from './harness.js';

const ACCOUNTS = 10_000;
const BLOCK_TXS = 5_000;

let pool: VerifyPool | undefined;

export const suite: BenchSuite = {
  name: 'chain-state',
  figures: async () => {
    const producer = new Ed25519Signer(new Uint8Array(randomBytes(32)));
    const signers = Array.from(
      { length: ACCOUNTS },
      () => new Ed25519Signer(new Uint8Array(randomBytes(32))),
    );
    const genesis: ChainState = createGenesis({
      params: minimalParams('bench', toHex(producer.publicKey)),
      timeMs: 1_700_000_000_000,
      accounts: [
        ...signers.map((s) => ({ address: toHex(s.publicKey), qdt: 1000n * UNIT })),
        { address: toHex(producer.publicKey), qdt: 0n, staked: 1000n * UNIT },
      ],
      producers: [{ address: toHex(producer.publicKey), url: 'https://bench.example' }],
    });
    const txs = Array.from({ length: BLOCK_TXS }, (_, i) =>
      signTx(
        {
          chainId: 'bench',
          kind: 'transfer',
          sender: toHex(signers[i]!.publicKey),
          nonce: 0,
          fee: 0n,
          body: {
            to: toHex(signers[(i + 1) % ACCOUNTS]!.publicKey),
            token: 'QDT',
            amount: 1n,
            memo: new Uint8Array(),
          },
        },
        signers[i]!,
      ),
    );
    const block: Block = buildBlock(genesis, txs, producer, genesis.timeMs + 500, {
      signaturesChecked: true,
    }).block;
    if (block.txs.length !== BLOCK_TXS) throw new Error('bench block dropped transactions');
    pool = new VerifyPool({ workers: 1 });
    const verifyPool = pool;
    // What a node's mempool leaves behind: every signature of the block verified at admission.
    const admitted = new SignatureCache(2 * BLOCK_TXS);
    for (const t of block.txs) if (!admitted.verify(t)) throw new Error('verify failed');
    const items = block.txs.map((t) => ({
      signature: t.signature,
      message: t.id,
      publicKey: new Uint8Array(Buffer.from(t.tx.sender, 'hex')),
    }));
    const inlineVerifies = (n: number) => () => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const x = items[i]!;
        verify(x.signature, x.message, x.publicKey);
      }
      return n / ((performance.now() - t0) / 1000);
    };
    /** Verifies/s through the pool in batches of `n`, as many batches as make one block. */
    const poolVerifies = (n: number) => async () => {
      const t0 = performance.now();
      for (let i = 0; i + n <= BLOCK_TXS; i += n) {
        const ok = await verifyPool.verifyBatch(items.slice(i, i + n));
        if (!ok.every(Boolean)) throw new Error('verify failed');
      }
      return (Math.floor(BLOCK_TXS / n) * n) / ((performance.now() - t0) / 1000);
    };
    const applyOnce = (opts = {}) => {
      const r = applyBlock(genesis, block, opts);
      if (!r.ok) throw r.error;
    };
    const blockBytes = block.txs.reduce((n, t) => n + encodeSignedTx(t).length, 0);
    return [
      {
        name: `transfers applied (block of ${BLOCK_TXS}, signatures verified inline)`,
        unit: 'tx/s',
        measure: () => {
          const t0 = performance.now();
          applyOnce();
          return BLOCK_TXS / ((performance.now() - t0) / 1000);
        },
        floor: {
          name: 'raw ed25519 verifies',
          measure: () => {
            const t0 = performance.now();
            for (const t of txs) verify(t.signature, t.id, Buffer.from(t.tx.sender, 'hex'));
            return BLOCK_TXS / ((performance.now() - t0) / 1000);
          },
        },
      },
      {
        name: 'transfers applied, signatures verified on both cores first',
        unit: 'tx/s',
        measure: async () => {
          const t0 = performance.now();
          const ok = await verifyPool.verifyBatch(items);
          if (!ok.every(Boolean)) throw new Error('verify failed');
          applyOnce({ signaturesChecked: true });
          return BLOCK_TXS / ((performance.now() - t0) / 1000);
        },
        note: 'VerifyPool, 1 worker + this thread; the machine has 2 shared cores',
      },
      {
        name: 'transfers applied, signatures pre-verified by the mempool (SignatureCache hits)',
        unit: 'tx/s',
        measure: () => {
          const t0 = performance.now();
          applyOnce({ isVerified: admitted.isVerified });
          return BLOCK_TXS / ((performance.now() - t0) / 1000);
        },
        floor: {
          name: 'state transition alone',
          measure: () => {
            const t0 = performance.now();
            applyOnce({ signaturesChecked: true });
            return BLOCK_TXS / ((performance.now() - t0) / 1000);
          },
        },
      },
      ...[64, 512, BLOCK_TXS].map((n) => ({
        name: `ed25519 verifies in the batches of ${n}`,
        unit: 'verifies/s',
        measure: poolVerifies(n),
        floor: { name: 'inline on one thread', measure: inlineVerifies(BLOCK_TXS) },
        note: '1 worker + this thread',
      })),
      {
        name: 'state transition alone (signatures pre-checked)',
        unit: 'tx/s',
        measure: () => {
          const t0 = performance.now();
          applyOnce({ signaturesChecked: true });
          return BLOCK_TXS / ((performance.now() - t0) / 1000);
        },
      },
      {
        name: `apply a full block (${BLOCK_TXS} transfers, ${Math.round(blockBytes / 1024)} KiB)`,
        unit: 'ms',
        measure: () => {
          const t0 = performance.now();
          applyOnce();
          return performance.now() - t0;
        },
      },
      {
        name: `account proof, ${ACCOUNTS.toLocaleString('en-US')} accounts`,
        unit: 'bytes',
        runs: 1,
        measure: () => proveKey(genesis, stateKey.account(toHex(signers[7]!.publicKey))).wireBytes,
      },
      {
        name: 'account proof, 1,000,000 accounts (median of 100 keys)',
        unit: 'bytes',
        runs: 1,
        measure: () => {
          const N = 1_000_000;
          const pool = new Uint8Array(randomBytes(32 * N));
          const value = new Uint8Array(60);
          const tree = smtBuild(
            Array.from({ length: N }, (_, i) => ({
              keyHash: pool.subarray(32 * i, 32 * i + 32),
              bytes: value,
            })),
          );
          const sizes = Array.from({ length: 100 }, (_, i) => {
            const p = smtProve(tree, pool.subarray(32 * i * 9000, 32 * i * 9000 + 32));
            // depth, bitmap, siblings, leaf: the same encoding proveKey measures.
            return 2 + 1 + p.bitmap.length + 3 + 34 * p.siblings.length + 1 + 2 * 34;
          });
          sizes.sort((a, b) => a - b);
          return sizes[50]!;
        },
      },
    ];
  },
  teardown: async () => {
    await pool?.close();
    pool = undefined;
  },
};
