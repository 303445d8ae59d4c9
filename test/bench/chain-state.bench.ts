/**
 * The state machine's throughput: QDT transfers applied per second by `applyBlock` with real ed25519
 * verification, against raw node:crypto verifies/s in the same run (the floor that bounds it); the
 * same block with signatures verified beforehand on both cores (a worker thread and the main one); the time to apply a full
 * block; and the size of a state proof with 10,000 and 1,000,000 accounts.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
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
  type SignedTx,
  signTx,
  stateKey,
  toHex,
  UNIT,
  verify,
} from '../../chain/index.js';
import { smtBuild, smtProve } from '../../chain/state/smt.js';
import type { BenchSuite } from './harness.js';

const ACCOUNTS = 10_000;
const BLOCK_TXS = 5_000;

/** A worker that verifies [signature, message, key] triples sent to it and answers with a bitmap. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
parentPort.on('message', (items) => {
  const ok = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const [sig, msg, pub] = items[i];
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
    ok[i] = verify(null, msg, key, sig) ? 1 : 0;
  }
  parentPort.postMessage(ok);
});`;

/**
 * Verifies every transaction's signature on both cores: the first half on a worker thread while this
 * thread verifies the second half. True when all verify.
 */
async function verifyParallel(worker: Worker, txs: readonly SignedTx[]): Promise<boolean> {
  const half = txs.length >> 1;
  const remote = new Promise<Uint8Array>((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(txs.slice(0, half).map((t) => [t.signature, t.id, Buffer.from(t.tx.sender, 'hex')]));
  });
  let local = true;
  for (let i = half; i < txs.length; i++) {
    const t = txs[i]!;
    if (!verify(t.signature, t.id, Buffer.from(t.tx.sender, 'hex'))) local = false;
  }
  return local && (await remote).every((b) => b === 1);
}

let workers: Worker[] = [];

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
    workers = [new Worker(WORKER_SOURCE, { eval: true })];
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
          if (!(await verifyParallel(workers[0]!, block.txs))) throw new Error('verify failed');
          applyOnce({ signaturesChecked: true });
          return BLOCK_TXS / ((performance.now() - t0) / 1000);
        },
        note: 'the machine has 2 shared cores',
      },
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
    await Promise.all(workers.map((w) => w.terminate()));
    workers = [];
  },
};
