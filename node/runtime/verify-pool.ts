/**
 * Batch ed25519 verification on several cores: worker threads (node:worker_threads) verify shares of
 * a batch while the calling thread verifies its own share, so a node checking a peer's block or a
 * burst of submitted transactions uses every core instead of one.
 *
 * Same verdicts as `verify` (ed25519.ts): the workers run the same node:crypto call after the same
 * length and weak-key checks (made here), and a key that does not parse is a false, never an
 * exception. What it costs: the
 * batch is packed into one transferred buffer per worker (no structured clone of many small arrays),
 * each worker keeps its own bounded cache of parsed keys, and the answer is one byte per item. Below
 * `minParallel` items a batch is verified here alone: a round trip to a worker costs about as much as
 * a few dozen verifications (test/bench/chain-state.bench.ts measures where it pays on this machine).
 *
 * Whether to use a pool is the caller's choice; the pool owns its threads until `close()`.
 */
import { Worker } from 'node:worker_threads';
import {
  type BatchVerifier,
  CryptoError,
  ED25519,
  strictPublicKey,
  type VerifyItem,
  verify,
} from '../../chain/index.js';

export type { VerifyItem };

/** How a pool is built. */
export interface VerifyPoolOptions {
  /** Worker threads (default 1: with the calling thread, two cores). */
  readonly workers?: number;
  /** Batches smaller than this are verified on the calling thread only (default 64). */
  readonly minParallel?: number;
}

/**
 * The worker: CommonJS evaluated from this string, so it runs the same from the TypeScript sources
 * under test and from dist/. Request: { id, buf } where buf packs items as
 * [signature 64][public key 32][message length u32 LE][message]; answer: { id, ok } one byte each.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
function keyOf(pub) {
  const x = Buffer.from(pub).toString('base64url');
  let k = keys.get(x);
  if (k !== undefined) return k;
  try { k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }); } catch { k = null; }
  if (keys.size >= 4096) keys.delete(keys.keys().next().value);
  keys.set(x, k);
  return k;
}
parentPort.on('message', ({ id, buf }) => {
  const b = new Uint8Array(buf);
  const dv = new DataView(buf);
  const ok = [];
  for (let p = 0; p < b.length; ) {
    const sig = b.subarray(p, p + 64);
    const pub = b.subarray(p + 64, p + 96);
    const n = dv.getUint32(p + 96, true);
    const msg = b.subarray(p + 100, p + 100 + n);
    p += 100 + n;
    const k = keyOf(pub);
    let r = false;
    if (k !== null) { try { r = verify(null, msg, k, sig); } catch { r = false; } }
    ok.push(r ? 1 : 0);
  }
  const out = Uint8Array.from(ok);
  parentPort.postMessage({ id, ok: out }, [out.buffer]);
});`;

interface Job {
  readonly resolve: (ok: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

/** Counters of a pool. */
export interface VerifyPoolStats {
  batches: number;
  /** Items verified by workers. */
  offloaded: number;
  /** Items verified on the calling thread. */
  local: number;
}

/** Worker threads that verify ed25519 signatures in batches. */
export class VerifyPool implements BatchVerifier {
  readonly #workers: Worker[];
  readonly #jobs = new Map<number, Job>();
  readonly #minParallel: number;
  #nextId = 1;
  #closed = false;
  readonly stats: VerifyPoolStats = { batches: 0, offloaded: 0, local: 0 };

  constructor(options: VerifyPoolOptions = {}) {
    const n = options.workers ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new CryptoError('BAD_LENGTH', 'verify pool', `workers must be 1..64, got ${n}`);
    this.#minParallel = options.minParallel ?? 64;
    this.#workers = Array.from({ length: n }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { id: number; ok: Uint8Array }) => {
        const job = this.#jobs.get(m.id);
        this.#jobs.delete(m.id);
        if (this.#jobs.size === 0) for (const x of this.#workers) x.unref();
        job?.resolve(m.ok);
      });
      w.on('error', (e) => this.#failAll(e));
      w.on('exit', () => this.#failAll(new Error('worker exited')));
      // Idle workers do not keep the process alive; a pending batch does (send refs).
      w.unref();
      return w;
    });
  }

  /** Worker threads in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * One verdict per item, in order, equal to `verify(item.signature, item.message, item.publicKey)`.
   * Rejects with CryptoError('WORKER_FAILED') when the pool is closed or a worker dies.
   */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.#closed) throw new CryptoError('WORKER_FAILED', 'verify pool', 'the pool is closed');
    this.stats.batches++;
    const out = new Array<boolean>(items.length);
    if (items.length < this.#minParallel) {
      for (let i = 0; i < items.length; i++) out[i] = verifyItem(items[i]!);
      this.stats.local += items.length;
      return out;
    }
    // Equal shares for each worker and for this thread; this thread takes the last one.
    const parts = this.#workers.length + 1;
    const share = Math.ceil(items.length / parts);
    const pending: Promise<void>[] = [];
    for (let w = 0; w < this.#workers.length; w++) {
      const from = w * share;
      const to = Math.min(items.length, from + share);
      if (from >= to) break;
      pending.push(
        this.#send(this.#workers[w]!, items, from, to).then((ok) => {
          for (let i = from; i < to; i++) out[i] = ok[i - from] === 1;
        }),
      );
      this.stats.offloaded += to - from;
    }
    const localFrom = Math.min(items.length, this.#workers.length * share);
    for (let i = localFrom; i < items.length; i++) out[i] = verifyItem(items[i]!);
    this.stats.local += items.length - localFrom;
    await Promise.all(pending);
    return out;
  }

  /** Stops the workers; pending batches reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new Error('the pool is closed'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #send(worker: Worker, items: readonly VerifyItem[], from: number, to: number): Promise<Uint8Array> {
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += 100 + items[i]!.message.length;
    const buf = new ArrayBuffer(bytes);
    const b = new Uint8Array(buf);
    const dv = new DataView(buf);
    let p = 0;
    const badLength = new Set<number>();
    for (let i = from; i < to; i++) {
      const it = items[i]!;
      // A wrong-length signature or key, or a weak key (ed25519.ts), is false without asking.
      if (
        it.signature.length === ED25519.signature &&
        it.publicKey.length === ED25519.publicKey &&
        strictPublicKey(it.publicKey)
      ) {
        b.set(it.signature, p);
        b.set(it.publicKey, p + 64);
      } else badLength.add(i - from);
      dv.setUint32(p + 96, it.message.length, true);
      b.set(it.message, p + 100);
      p += 100 + it.message.length;
    }
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#jobs.set(id, {
        resolve: (ok) => {
          for (const k of badLength) ok[k] = 0;
          resolve(ok);
        },
        reject,
      });
      worker.ref();
      worker.postMessage({ id, buf }, [buf]);
    });
  }

  #failAll(e: Error): void {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const j of jobs) j.reject(new CryptoError('WORKER_FAILED', 'verify pool', e.message));
  }
}

function verifyItem(it: VerifyItem): boolean {
  return verify(it.signature, it.message, it.publicKey);
}
