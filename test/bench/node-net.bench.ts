/**
 * The node network on loopback.
 * - Propagation: 4 FullNodes in this process over real TCP sockets for 15 s; a block's latency is
 *   from its producer handing it to the network to another node receiving it (one clock, so exact),
 *   a vote's likewise; p50 and p99 over every (message, receiver) pair. Floor: the one-way latency of
 *   a 1 KB frame on a bare loopback TCP socket in the same process.
 * - Finality lag: a block's slot start to it becoming final, at every node.
 * - CPU per transfer: 4 FullNodes in this process, CPU time per transfer made final on all four
 *   (see cpuPerTransferUs); floor: the four signature verifications it cannot do without.
 * - Throughput: `qood devnet start --nodes 4` (four processes), 256 funded accounts, transfers
 *   posted to the four HTTP APIs for 15 s; transfers in final blocks per second of the window.
 *   Floor: ed25519 verifies per second on one core in this run (each transfer is verified once on
 *   each of the 4 nodes, at admission; the signature cache spares the check when the block applies).
 *   The four nodes and this client share the machine's cores, so the figure is CPU-bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Ed25519Signer,
  encodeSignedTx,
  getAccount,
  type SignedTx,
  sha256,
  signTx,
  toHex,
  UNIT,
  verify,
} from '../../chain/index.js';
import { readGenesisFile, readKeyFile } from '../../node/runtime/index.js';
import { startLocalNet, waitFor } from '../support/node-net.js';
import type { BenchFigure, BenchSuite } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface Propagation {
  block: number[];
  vote: number[];
  lag: number[];
}

/** 4 nodes in this process for `ms`; latencies from their traces. */
async function propagation(ms: number): Promise<Propagation> {
  const sent = new Map<string, number>();
  const out: Propagation = { block: [], vote: [], lag: [] };
  const net = await startLocalNet(4, () => ({
    onTrace: (t, at) => {
      const now = performance.now();
      if (t.kind === 'blockSent' || t.kind === 'voteSent') sent.set(t.id, now);
      else if (t.kind === 'blockReceived' || t.kind === 'voteReceived') {
        const s = sent.get(t.id);
        if (s !== undefined) (t.kind === 'blockReceived' ? out.block : out.vote).push(now - s);
      } else if (t.kind === 'final') for (const b of t.blocks) out.lag.push(at - b.timeMs);
    },
  }));
  await new Promise((r) => setTimeout(r, ms));
  await net.stop();
  return out;
}

/** One-way latency of a 1 KB write on a bare loopback socket, median of 200. */
async function bareTcpMs(): Promise<number> {
  const server = createServer((s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const c = createConnection({ host: '127.0.0.1', port });
  c.setNoDelay(true);
  await new Promise((r) => c.once('connect', r));
  const rtts: number[] = [];
  const payload = new Uint8Array(1024);
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      let got = 0;
      const on = (d: Buffer) => {
        got += d.length;
        if (got >= payload.length) {
          c.off('data', on);
          r();
        }
      };
      c.on('data', on);
      c.write(payload);
    });
    rtts.push((performance.now() - t0) / 2);
  }
  c.destroy();
  server.close();
  return quantile(rtts, 0.5);
}

function verifiesPerSec(): number {
  const k = new Ed25519Signer(sha256(Uint8Array.of(1)));
  const msgs = Array.from({ length: 2000 }, (_, i) => sha256(Uint8Array.of(i & 0xff, i >> 8)));
  const sigs = msgs.map((m) => k.sign(m));
  const t0 = performance.now();
  for (let i = 0; i < msgs.length; i++) verify(sigs[i]!, msgs[i]!, k.publicKey);
  return msgs.length / ((performance.now() - t0) / 1000);
}

/**
 * CPU time of this process per transfer made final by 4 FullNodes in it (real TCP between them):
 * 40 funded accounts send 60 transfers each, submitted round-robin to the nodes, timed from the
 * first submission until every node holds them all final. CPU time rather than wall time, so other
 * load on the machine matters less. Floor: four ed25519 verifications, the least the four nodes
 * must do per transfer.
 */
async function cpuPerTransferUs(): Promise<number> {
  const net = await startLocalNet(4);
  try {
    const chainId = net.genesis.params.chainId;
    const transfer = (from: Ed25519Signer, nonce: number, to: string, amount: bigint) =>
      signTx(
        {
          chainId,
          kind: 'transfer',
          sender: toHex(from.publicKey),
          nonce,
          fee: 0n,
          body: { to, token: 'QDT', amount, memo: new Uint8Array() },
        },
        from,
      );
    const senders = 40;
    const each = 60;
    const accounts = Array.from(
      { length: senders },
      (_, i) => new Ed25519Signer(sha256(Uint8Array.of(i, 7))),
    );
    const addrs = accounts.map((a) => toHex(a.publicKey));
    await waitFor(() => net.nodes.every((n) => n.lastFinal.height >= 2), 20_000, 'the nodes to start');
    for (let i = 0; i < senders; i++) net.nodes[0]!.submitTx(transfer(net.whale, i, addrs[i]!, 1000n * UNIT));
    const funded = (n: (typeof net.nodes)[number]) =>
      addrs.every((a) => getAccount(n.lastFinal.state, a).qdt > 0n);
    await waitFor(() => net.nodes.every(funded), 20_000, 'the accounts to be funded');
    // Nonce by nonce, so each sender's transfers arrive in order.
    const load = Array.from({ length: each }, (_, n) =>
      accounts.map((a, i) => transfer(a, n, addrs[(i + 1) % senders]!, 1n)),
    ).flat();
    const c0 = process.cpuUsage();
    for (let k = 0; k < load.length; k++) {
      if (!net.nodes[k % 4]!.submitTx(load[k]!).admitted) throw new Error('a transfer was refused');
      if (k % 200 === 199) await new Promise((r) => setImmediate(r));
    }
    const done = (n: (typeof net.nodes)[number]) =>
      addrs.every((a) => getAccount(n.lastFinal.state, a).nonce === each);
    await waitFor(() => net.nodes.every(done), 60_000, 'every transfer to be final');
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / load.length;
  } finally {
    await net.stop();
  }
}

/** Four ed25519 verifications, in microseconds. */
function fourVerifiesUs(): number {
  return (4 * 1e6) / verifiesPerSec();
}

const cliPath = [
  join(here, '..', '..', 'cli', 'main.js'),
  join(here, '..', '..', 'dist', 'cli', 'main.js'),
].find(existsSync);

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as T;
}

/**
 * Posts one transaction over a kept-alive connection; 0 when the request failed (a kept-alive socket
 * the server closed at that moment), which the load loop retries. node:http rather than fetch: fetch
 * cost this client about 0.6 ms of CPU per request, as much as a node spends on the transaction,
 * on the same two cores.
 */
function post(agent: Agent, url: string, tx: SignedTx): Promise<number> {
  const body = encodeSignedTx(tx);
  return new Promise((resolve) => {
    const req = request(
      `${url}/tx`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/cbor', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Transfers per second into a 4-process devnet through its HTTP APIs over `windowMs`. */
async function throughput(windowMs: number): Promise<number> {
  if (cliPath === undefined) throw new Error('dist/cli/main.js not built');
  const dir = mkdtempSync(join(tmpdir(), 'qood-bench-net-'));
  const base = 30_000 + Math.floor(Math.random() * 20_000);
  const urls = [0, 1, 2, 3].map((i) => `http://127.0.0.1:${base + 100 + i}`);
  let devnet: ChildProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    devnet = spawn(
      process.execPath,
      [cliPath, 'devnet', 'start', '--nodes', '4', '--dir', dir, '--base-port', String(base)],
      {
        stdio: 'ignore',
      },
    );
    const finalOf = async (u: string) =>
      (await getJson<{ final: { height: number } }>(`${u}/status`)).final.height;
    for (let t = 0; ; t++) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        if ((await finalOf(urls[0]!)) >= 2) break;
      } catch {}
      if (t > 80) throw new Error('the devnet did not start');
    }
    const spec = readGenesisFile(join(dir, 'genesis.yaml'), 'minimal');
    const chainId = spec.params.chainId;
    const whale = readKeyFile(join(dir, 'whale.key'));
    const accounts = Array.from({ length: 256 }, (_, i) => new Ed25519Signer(sha256(Uint8Array.of(i, 42))));
    const transfer = (from: Ed25519Signer, nonce: number, to: string, amount: bigint) =>
      signTx(
        {
          chainId,
          kind: 'transfer',
          sender: toHex(from.publicKey),
          nonce,
          fee: 0n,
          body: { to, token: 'QDT', amount, memo: new Uint8Array() },
        },
        from,
      );
    // Fund the accounts, 60 transfers at a time (a sender may queue 64 nonces ahead).
    const whaleAddr = toHex(whale.publicKey);
    for (let i = 0; i < accounts.length; i += 60) {
      const batch = accounts.slice(i, i + 60);
      await Promise.all(
        batch.map(async (a, k) => {
          const tx = transfer(whale, i + k, toHex(a.publicKey), 10_000n * UNIT);
          for (let tries = 0; (await post(agent, urls[0]!, tx)) === 0; tries++)
            if (tries > 5) throw new Error('the devnet refuses connections');
        }),
      );
      for (;;) {
        const n = (await getJson<{ nonce: number }>(`${urls[0]}/accounts/${whaleAddr}/next-free-tx`)).nonce;
        if (n >= i + batch.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    // Pre-sign the load: each account's transfers in nonce order.
    const perAccount = 120;
    const load = accounts.map((a, i) =>
      Array.from({ length: perAccount }, (_, n) =>
        transfer(a, n, toHex(accounts[(i + 1) % accounts.length]!.publicKey), 1n),
      ),
    );
    const startHeight = await finalOf(urls[0]!);
    const t0 = Date.now();
    // Each account keeps at most 32 transfers unconfirmed; 64 requests in flight in all.
    const next = accounts.map(() => 0);
    let cursor = 0;
    const worker = async (w: number) => {
      while (Date.now() - t0 < windowMs) {
        const i = cursor++ % accounts.length;
        const n = next[i]!;
        if (n >= perAccount) {
          if (next.every((x) => x >= perAccount)) return;
          continue;
        }
        next[i] = n + 1;
        const status = await post(agent, urls[(w + i) % 4]!, load[i]![n]!);
        if (status !== 202 && status !== 200) next[i] = n;
        if (n % 32 === 31) await new Promise((r) => setTimeout(r, 100));
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
    const windowEnd = Date.now();
    const endHeight = await finalOf(urls[0]!);
    let included = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (let h = startHeight + 1; h <= endHeight; h++) {
      const b = await getJson<{ header: { timeMs: number }; txs: unknown[] }>(`${urls[0]}/blocks/${h}`);
      included += b.txs.length;
      if (b.txs.length > 0) {
        first = Math.min(first, b.header.timeMs);
        last = Math.max(last, b.header.timeMs);
      }
    }
    const seconds = Math.max(1, (Math.min(last, windowEnd) - Math.max(first, t0)) / 1000 + 0.5);
    return included / seconds;
  } finally {
    agent.destroy();
    devnet?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    if (devnet?.exitCode === null) devnet.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export const suite: BenchSuite = {
  name: 'node-net',
  skip: () => (cliPath === undefined ? 'dist/cli/main.js is not built (npm run build)' : undefined),
  figures: async (): Promise<readonly BenchFigure[]> => {
    let p: Propagation | undefined;
    const prop = async () => {
      p ??= await propagation(15_000);
      return p;
    };
    const tcp = { name: 'bare loopback TCP, one way', measure: bareTcpMs };
    const note = '4 nodes in one process, 15 s';
    return [
      {
        name: 'block propagation p50',
        unit: 'ms',
        runs: 1,
        note,
        floor: tcp,
        measure: async () => quantile((await prop()).block, 0.5),
      },
      {
        name: 'block propagation p99',
        unit: 'ms',
        runs: 1,
        note,
        floor: tcp,
        measure: async () => quantile((await prop()).block, 0.99),
      },
      {
        name: 'vote propagation p50',
        unit: 'ms',
        runs: 1,
        note,
        floor: tcp,
        measure: async () => quantile((await prop()).vote, 0.5),
      },
      {
        name: 'vote propagation p99',
        unit: 'ms',
        runs: 1,
        note,
        floor: tcp,
        measure: async () => quantile((await prop()).vote, 0.99),
      },
      {
        name: 'finality lag p50',
        unit: 'ms',
        runs: 1,
        note,
        measure: async () => quantile((await prop()).lag, 0.5),
      },
      {
        name: 'finality lag p99',
        unit: 'ms',
        runs: 1,
        note,
        measure: async () => quantile((await prop()).lag, 0.99),
      },
      {
        name: 'CPU per final transfer, 4 nodes in one process',
        unit: 'µs/tx',
        runs: 3,
        note: '2,400 transfers submitted round-robin',
        floor: { name: 'four ed25519 verifies', measure: fourVerifiesUs },
        measure: cpuPerTransferUs,
      },
      {
        name: 'transfers final per second via HTTP',
        unit: 'tx/s',
        runs: 1,
        note: '4 node processes, 256 senders, 15 s',
        floor: { name: 'ed25519 verifies/s, one core', measure: verifiesPerSec },
        measure: () => throughput(15_000),
      },
    ];
  },
};
